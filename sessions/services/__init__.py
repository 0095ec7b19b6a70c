"""The citizen services as plain async functions over the ports: the USSD flows, the SMS keywords
and the HTTP API all call these, so no rule is implemented twice."""
