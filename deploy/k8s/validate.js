// validate.js: every object of a rendered manifest (multi-document YAML) against the Kubernetes
// schemas of kubernetes-models (npm): `node validate.js FILE`. Exits 1 on the first document
// whose kind the models do not know, and after listing every invalid one.
// Run by `scripts/store test` (scripts/lib/k8s.sh) with NODE_PATH at the pinned tools.
"use strict";
const fs = require("fs");
const yaml = require("js-yaml");

const file = process.argv[2];
const docs = yaml.loadAll(fs.readFileSync(file, "utf8")).filter((d) => d);
let bad = 0;
const kinds = {};
for (const doc of docs) {
  const where = `${doc.kind || "?"}/${(doc.metadata && doc.metadata.name) || "?"}`;
  const api = String(doc.apiVersion || "");
  // "v1" is the core group; "apps/v1", "networking.k8s.io/v1", ... the others.
  const path = `kubernetes-models/${api}/${doc.kind}`;
  let Model;
  try {
    Model = require(path).default || require(path)[doc.kind];
  } catch (e) {
    console.error(`${file}: ${where}: no schema for apiVersion ${api} kind ${doc.kind}`);
    process.exit(1);
  }
  try {
    new Model(doc).validate();
    kinds[doc.kind] = (kinds[doc.kind] || 0) + 1;
  } catch (e) {
    bad++;
    console.error(`${file}: ${where}: ${e.message}`);
  }
}
const summary = Object.keys(kinds).sort().map((k) => `${kinds[k]} ${k}`).join(", ");
console.log(`${file}: ${docs.length} objects, ${bad} invalid (${summary})`);
process.exit(bad ? 1 : 0);
