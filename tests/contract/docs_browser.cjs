// docs_browser.cjs: /docs/ in headless Chromium (Debian's, driven by puppeteer-core): every operation of
// the spec is listed, and "Try it out" on GET /users/me answers 200 with a token given in Authorize.
// Run by `scripts/store test` (scripts/lib/contract.sh): node docs_browser.cjs GATEWAY_URL SCREENSHOT.
"use strict";
const puppeteer = require("puppeteer-core");
const fs = require("fs");
const os = require("os");
const path = require("path");

const [base, shot] = process.argv.slice(2);
if (!base || !shot) {
  console.error("usage: node docs_browser.cjs GATEWAY_URL SCREENSHOT.png");
  process.exit(2);
}
const METHODS = ["get", "put", "post", "patch", "delete", "head", "options", "trace"];

async function json(method, p, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(base + p, { method, headers, body: body && JSON.stringify(body) });
  return { status: r.status, body: await r.json().catch(() => null) };
}

async function main() {
  // The operations of the spec the page shows, counted from its own JSON copy.
  const spec = await (await fetch(`${base}/docs/openapi.json`)).json();
  const ops = [];
  for (const [p, item] of Object.entries(spec.paths))
    for (const m of METHODS) if (item[m]) ops.push(`${m.toUpperCase()} ${p}`);

  // A customer to sign in as.
  const email = `docs-${process.pid}-${Date.now()}@example.com`, password = "correct horse battery 42";
  let r = await json("POST", "/api/v1/auth/register", { email, password, name: "Docs Check" });
  if (r.status !== 201) throw new Error(`register: ${r.status} ${JSON.stringify(r.body)}`);
  r = await json("POST", "/api/v1/auth/login", { email, password });
  if (r.status !== 200) throw new Error(`login: ${r.status}`);
  const token = r.body.access_token;

  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "store-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: process.env.STORE_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    userDataDir: profile,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--disable-dev-shm-usage", "--window-size=1280,900"],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    const failed = [];
    page.on("requestfailed", (q) => failed.push(q.url()));
    await page.goto(`${base}/docs/`, { waitUntil: "networkidle0", timeout: 60000 });
    await page.waitForSelector(".opblock", { timeout: 30000 });

    // Every operation is listed, by method and path.
    const listed = await page.$$eval(".opblock", (els) => els.map((e) =>
      `${e.querySelector(".opblock-summary-method").textContent.trim()} ` +
      `${e.querySelector(".opblock-summary-path").getAttribute("data-path")}`));
    const missing = ops.filter((o) => !listed.includes(o));
    if (missing.length || listed.length !== ops.length)
      throw new Error(`listed ${listed.length} of ${ops.length} operations; missing: ${missing.join(", ")}`);
    console.log(`all ${ops.length} operations of the spec are listed`);
    await page.screenshot({ path: shot, fullPage: false });

    // Authorize with the token, then Try it out on GET /api/v1/users/me.
    await page.click(".auth-wrapper .authorize");
    await page.waitForSelector(".modal-ux input[type=text], .modal-ux input:not([type])");
    await page.type(".modal-ux input[type=text], .modal-ux input:not([type])", token);
    await page.click(".modal-ux .auth-btn-wrapper .authorize");
    await page.click(".modal-ux .btn-done, .modal-ux .close-modal");
    const op = "#operations-users-getMe";
    await page.click(`${op} .opblock-summary-control`);
    await page.waitForSelector(`${op} .try-out__btn`);
    await page.click(`${op} .try-out__btn`);
    await page.waitForSelector(`${op} .execute`);
    await page.click(`${op} .execute`);
    await page.waitForSelector(`${op} .live-responses-table tbody .response-col_status`, { timeout: 30000 });
    const status = await page.$eval(`${op} .live-responses-table tbody .response-col_status`, (e) => e.textContent.trim());
    const body = await page.$eval(`${op} .live-responses-table .microlight, ${op} .live-responses-table pre`,
      (e) => e.textContent).catch(() => "");
    // The operation as tried, without the curl line (it shows the token) or the documented responses.
    await page.evaluate((sel) => {
      for (const e of document.querySelectorAll(`${sel} .curl-command, ${sel} .responses-table:not(.live-responses-table)`))
        e.style.display = "none";
    }, op);
    await (await page.$(op)).screenshot({ path: shot.replace(/\.png$/, "-try-it-out.png") });
    if (!status.startsWith("200") || !body.includes(email))
      throw new Error(`Try it out on GET /api/v1/users/me: ${status} ${body.slice(0, 300)}`);
    console.log(`Try it out: GET /api/v1/users/me with the token from Authorize answered 200 for ${email}`);
    if (failed.length) throw new Error(`requests that failed in the page: ${failed.join(", ")}`);
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`docs check failed: ${e.stack || e}`);
  process.exit(1);
});
