#!/usr/bin/perl
# A test SMSC on Debian's Net::SMPP (libnet-smpp-perl): a codec of its own, not the gateway's.
#
#   perl smsc.pl SYSTEM_ID PASSWORD
#
# Listens on an ephemeral port on 127.0.0.1 and prints `PORT n`. Each PDU it reads is one JSON line
# on stdout, with its raw bytes in hex; commands come one a line on stdin:
#   status HEX N    answer the next N submit_sm with that command_status (0x58 throttled, ...)
#   silent N        leave the next N submit_sm unanswered
#   receipts 0|1    send a delivery receipt after each accepted submit_sm asking for one
#   deliver JSON    push a deliver_sm to every bound ESME (fields as Net::SMPP names them;
#                   short_message_hex for the body, tlv_hex: {name: hex} for optional params)
#   drop            close every ESME connection (the link drops)
#   refuse 0|1      refuse binds (ESME_RBINDFAIL) while set
use strict;
use warnings;
use IO::Select;
use JSON::PP;
use Net::SMPP;

$| = 1;
my ($system_id, $password) = @ARGV;
my $json = JSON::PP->new->canonical(1);
my $listen = Net::SMPP->new_listen('127.0.0.1', port => 0, smpp_version => 0x34)
  or die "listen: $!";
print "PORT " . $listen->sockport() . "\n";

my $sel = IO::Select->new($listen, \*STDIN);
my %bound;    # fileno -> Net::SMPP connection
my (@answers, $receipts, $refuse);
my $next_id = 0;
my $inbuf = '';

sub emit { print $json->encode({@_}) . "\n"; }

sub raw_hex {
  my ($pdu) = @_;
  my $header = pack('NNNN', 16 + length($pdu->{data}), $pdu->{cmd}, $pdu->{status}, $pdu->{seq});
  return unpack('H*', $header . $pdu->{data});
}

sub tlvs_of {
  my ($pdu) = @_;
  my %t;
  for my $k (keys %$pdu) {
    $t{sprintf('0x%04x', $k)} = unpack('H*', $pdu->{$k}) if $k =~ /^\d+$/;
  }
  return \%t;
}

sub close_conn {
  my ($c) = @_;
  $sel->remove($c);
  delete $bound{fileno($c)} if defined fileno($c);
  close($c);
}

sub receipt_for {
  my ($c, $pdu, $id) = @_;
  my $text = "id:$id sub:001 dlvrd:001 submit date:2612051200 done date:2612051201 "
    . "stat:DELIVRD err:000 text:";
  $c->deliver_sm(
    async => 1,
    source_addr => $pdu->{destination_addr},
    destination_addr => $pdu->{source_addr},
    esm_class => 0x04,
    short_message => $text,
    receipted_message_id => "$id\0",
    message_state => pack('C', 2),
  );
}

sub command {
  my ($line) = @_;
  chomp $line;
  my ($cmd, $rest) = split / /, $line, 2;
  if ($cmd eq 'status') {
    my ($hex, $n) = split / /, $rest;
    push @answers, (hex($hex)) x $n;
  } elsif ($cmd eq 'silent') {
    push @answers, ('silent') x $rest;
  } elsif ($cmd eq 'receipts') {
    $receipts = $rest;
  } elsif ($cmd eq 'refuse') {
    $refuse = $rest;
  } elsif ($cmd eq 'drop') {
    close_conn($_) for values %bound;
  } elsif ($cmd eq 'deliver') {
    my $f = $json->decode($rest);
    my @args = map { ($_ => $f->{$_}) } grep { !/_hex$/ } sort keys %$f;
    push @args, (short_message => pack('H*', $f->{short_message_hex} // ''));
    my $tlv = $f->{tlv_hex} // {};
    push @args, map { ($_ => pack('H*', $tlv->{$_})) } sort keys %$tlv;
    $_->deliver_sm(async => 1, @args) for values %bound;
  }
  emit(event => 'ack', command => $cmd);
}

sub on_pdu {
  my ($c, $pdu) = @_;
  my $name = Net::SMPP::pdu_tab->{$pdu->{cmd}}{cmd} // sprintf('0x%08x', $pdu->{cmd});
  my %out = (event => 'pdu', cmd => $name, seq => $pdu->{seq}, status => $pdu->{status},
    hex => raw_hex($pdu));
  for my $f (qw(system_id system_type addr_ton addr_npi source_addr source_addr_ton
    source_addr_npi destination_addr dest_addr_ton dest_addr_npi esm_class data_coding
    registered_delivery service_type validity_period message_id)) {
    $out{$f} = $pdu->{$f} if defined $pdu->{$f};
  }
  $out{short_message_hex} = unpack('H*', $pdu->{short_message}) if defined $pdu->{short_message};
  $out{tlvs} = tlvs_of($pdu);
  # Never echo a password: the tests only need to know whether it matched.
  $out{password_ok} = ($pdu->{password} // '') eq $password ? JSON::PP::true : JSON::PP::false
    if $name =~ /^bind_/;
  emit(%out);

  if ($name eq 'bind_transceiver') {
    my $ok = !$refuse && $pdu->{system_id} eq $system_id && $pdu->{password} eq $password;
    my $status = $refuse ? 0x0d : ($ok ? 0 : 0x0e);
    $c->bind_transceiver_resp(seq => $pdu->{seq}, status => $status, system_id => 'netsmpp');
    $bound{fileno($c)} = $c if $ok;
  } elsif ($name eq 'enquire_link') {
    $c->enquire_link_resp(seq => $pdu->{seq});
  } elsif ($name eq 'unbind') {
    $c->unbind_resp(seq => $pdu->{seq});
    close_conn($c);
  } elsif ($name eq 'submit_sm') {
    my $answer = @answers ? shift @answers : 0;
    return if $answer eq 'silent';
    if ($answer) {
      $c->submit_sm_resp(seq => $pdu->{seq}, status => $answer, message_id => '');
      return;
    }
    my $id = sprintf('%x', 0x5000 + ++$next_id);
    $c->submit_sm_resp(seq => $pdu->{seq}, message_id => $id);
    receipt_for($c, $pdu, $id) if $receipts && ($pdu->{registered_delivery} & 1);
  } elsif ($name =~ /_resp$/) {
    # deliver_sm_resp, enquire_link_resp: already reported above
  } else {
    $c->generic_nack(seq => $pdu->{seq}, status => 0x03);
  }
}

while (1) {
  for my $fh ($sel->can_read()) {
    if ($fh == $listen) {
      my $c = $listen->accept() or next;
      $sel->add($c);
      emit(event => 'connect');
    } elsif ($fh == \*STDIN) {
      # sysread, not <STDIN>: a buffered read would hide a second line from select
      my $n = sysread(STDIN, $inbuf, 65536, length $inbuf);
      exit 0 if !$n;
      command($1) while $inbuf =~ s/^([^\n]*)\n//;
    } else {
      my $pdu = $fh->read_pdu();
      if (!defined $pdu) {
        emit(event => 'disconnect');
        close_conn($fh);
        next;
      }
      on_pdu($fh, $pdu);
    }
  }
}
