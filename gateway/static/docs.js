// Renders /openapi.json without any external library, so the page works offline: operations
// folded by tag, each with a request and a response example; schemas folded under them.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

function resolve(spec, schema) {
  if (schema && schema.$ref) return resolve(spec, spec.components.schemas[schema.$ref.split("/").pop()]);
  return schema;
}

function folded(title, ...children) {
  return el("details", {}, el("summary", {}, title), ...children);
}

function code(value) {
  return el("pre", {}, typeof value === "string" ? value : JSON.stringify(value, null, 2));
}

function exampleOf(content) {
  if (!content) return undefined;
  if (content.example !== undefined) return content.example;
  if (content.examples) {
    const first = Object.values(content.examples)[0];
    return first && first.value;
  }
  return undefined;
}

function requestExample(spec, path, method, op) {
  const lines = [method.toUpperCase() + " " + path];
  if (op.security) lines.push("Authorization: Bearer dgk_…");
  if (op.requestBody) {
    const [type, body] = Object.entries(op.requestBody.content)[0];
    lines.push("Content-Type: " + type, "");
    const example = exampleOf(body);
    lines.push(typeof example === "string" ? example : JSON.stringify(example, null, 2));
  }
  return lines.join("\n");
}

function operation(spec, path, method, op) {
  const id = (op.operationId || method + path).replace(/[^A-Za-z0-9_-]/g, "_");
  const head = el("span", {}, el("span", { class: "method " + method }, method), el("code", {}, path), " ", op.summary || "");
  const section = el("details", { class: "op", id: id }, el("summary", {}, head));
  if (op.description) section.append(el("p", {}, op.description));
  if (op.security) section.append(el("p", { class: "scope" }, "API key scope: " + op.security[0].apiKey[0]));
  for (const p of op.parameters || []) {
    section.append(el("p", {}, el("code", {}, p.name), " (" + p.in + ") " + (p.description || "")));
  }
  section.append(el("h4", {}, "Request example"), code(requestExample(spec, path, method, op)));
  if (op.requestBody) {
    const body = Object.values(op.requestBody.content)[0];
    section.append(folded("Request schema", code(resolve(spec, body.schema))));
  }
  let shown = false;
  for (const [status, response] of Object.entries(op.responses)) {
    const content = response.content ? Object.values(response.content)[0] : null;
    const example = exampleOf(content);
    if (!shown && status.startsWith("2")) {
      shown = true;
      section.append(el("h4", {}, "Response example: " + status + " " + response.description));
      if (example !== undefined) section.append(code(example));
    }
    const parts = [];
    if (example !== undefined && status[0] !== "2") parts.push(code(example));
    if (content && content.schema) parts.push(folded("Schema", code(resolve(spec, content.schema))));
    section.append(folded(status + ": " + response.description, ...parts));
  }
  return section;
}

function render(spec) {
  document.getElementById("summary").textContent = spec.info.description;
  const toc = document.getElementById("toc");
  const ops = document.getElementById("ops");
  const groups = new Map();
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = op.tags[0];
      if (!groups.has(tag)) {
        const group = el("details", { class: "tag", id: tag }, el("summary", {}, el("h2", {}, tag)));
        groups.set(tag, group);
        toc.append(el("a", { href: "#" + tag }, tag));
        ops.append(group);
      }
      groups.get(tag).append(operation(spec, path, method, op));
    }
  }
  // A link to a tag or an operation opens it.
  function openTarget() {
    const target = location.hash && document.getElementById(location.hash.slice(1));
    for (let node = target; node; node = node.parentElement) if (node.tagName === "DETAILS") node.open = true;
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
}

fetch("/openapi.json").then((r) => r.json()).then(render).catch((err) => {
  document.getElementById("summary").textContent = "Could not load the API description: " + err;
});
