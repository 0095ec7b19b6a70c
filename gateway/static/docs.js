// Renders /openapi.json without any external library, so the page works offline.
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

function schemaBlock(spec, schema) {
  return el("pre", {}, JSON.stringify(resolve(spec, schema), null, 2));
}

function render(spec) {
  document.getElementById("summary").textContent = spec.info.description;
  const toc = document.getElementById("toc");
  const ops = document.getElementById("ops");
  const tags = new Set();
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = op.tags[0];
      if (!tags.has(tag)) {
        tags.add(tag);
        toc.append(el("a", { href: "#" + tag }, tag));
        ops.append(el("h2", { id: tag }, tag));
      }
      const section = el("section", {},
        el("h3", {}, el("span", { class: "method " + method }, method), el("code", {}, path)),
        el("p", {}, op.summary));
      if (op.description) section.append(el("p", {}, op.description));
      if (op.security) section.append(el("p", { class: "scope" }, "API key scope: " + op.security[0].apiKey[0]));
      for (const p of op.parameters || []) {
        section.append(el("p", {}, el("code", {}, p.name), " (" + p.in + ") " + (p.description || "")));
      }
      if (op.requestBody) {
        const [type, body] = Object.entries(op.requestBody.content)[0];
        section.append(el("h4", {}, "Request body (" + type + ")"), schemaBlock(spec, body.schema));
      }
      for (const [status, response] of Object.entries(op.responses)) {
        const content = response.content ? Object.values(response.content)[0] : null;
        section.append(el("h4", {}, status + ": " + response.description));
        if (content) section.append(schemaBlock(spec, content.schema));
      }
      ops.append(section);
    }
  }
}

fetch("/openapi.json").then((r) => r.json()).then(render).catch((err) => {
  document.getElementById("summary").textContent = "Could not load the API description: " + err;
});
