// dashboard.e2e: the real ringlb's /dashboard in headless Debian Chromium (driven by
// playwright-core), in front of two live backends, with traffic flowing. A user relies on: every
// backend shown up with its request rate, the listener's HTTP/2 counts beside its connections,
// Drain taking that backend out of rotation (and showing it), Enable bringing it back, and a page
// that says so when the token is missing.
// Exit 0 = passed, 1 = failed, 77 = skipped (no Chromium, no node_modules, Node older than 20).
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HOST = "127.0.0.1";
const SKIP = 77;
const OVERALL_TIMEOUT_MS = 90_000;
const here = path.dirname(fileURLToPath(import.meta.url));
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const ringlbBin = process.env.RINGLB_BIN || path.resolve(here, "../../build/ringlb");
const screenshotPath = process.env.DASHBOARD_SCREENSHOT || path.join(os.tmpdir(), "dashboard.png");

function skip(why) {
  console.log(`SKIPPED dashboard.e2e: ${why}`);
  process.exit(SKIP);
}
if (Number(process.versions.node.split(".")[0]) < 20) skip(`Node ${process.version} is older than 20`);
if (!fs.existsSync(chromiumPath)) skip(`${chromiumPath} not found (apt-get install chromium)`);
let chromium;
try {
  ({ chromium } = await import("playwright-core"));
} catch {
  skip("playwright-core is not installed: run `npm ci --prefix tests/dashboard`");
}
if (!fs.existsSync(ringlbBin)) {
  console.error(`FAILED: no ringlb binary at ${ringlbBin} (set RINGLB_BIN)`);
  process.exit(1);
}

// ---- children and cleanup: ringlb is killed on any exit, Chromium is closed or killed ----
const children = new Set();
const tempDirs = new Set();
let browser = null;
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(1));
const watchdog = setTimeout(() => fail(`the whole test took over ${OVERALL_TIMEOUT_MS / 1000} s`),
                            OVERALL_TIMEOUT_MS);

let failing = false;
async function fail(message) {
  if (failing) return;
  failing = true;
  console.error(`FAILED: ${message}`);
  for (const child of children) console.error(`--- ringlb output (last 3000 bytes) ---\n${child.log.slice(-3000)}`);
  setTimeout(() => process.exit(1), 3000).unref();
  await browser?.close().catch(() => {});
  process.exit(1);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(what, check, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => false);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

// ---- two backends that count the proxied requests they get (health checks ask for "/") ----
async function startBackend(name, answerEvery5thWith500) {
  const backend = { name, hits: 0, server: null, address: "" };
  backend.server = http.createServer((request, response) => {
    if (request.url === "/") return response.end("ok\n");
    backend.hits += 1;
    const fail = answerEvery5thWith500 && backend.hits % 5 === 0;
    response.writeHead(fail ? 500 : 200, { "content-type": "text/plain" });
    response.end(`${name} ${fail ? "error" : "hello"}\n`);
  });
  await new Promise((resolve) => backend.server.listen(0, HOST, resolve));
  backend.address = `${HOST}:${backend.server.address().port}`;
  return backend;
}

function get(port, requestPath, { headers = {}, agent } = {}) {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: HOST, port, path: requestPath, headers, agent, timeout: 3000 },
                             (response) => {
      let body = "";
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode, body }));
    });
    request.on("timeout", () => request.destroy(new Error("timeout")));
    request.on("error", reject);
  });
}

// ---- ringlb ----
async function startRinglb(backends, token) {
  const [webPort, adminPort] = [await freePort(), await freePort()];
  const user = process.getuid() === 0 ? "root" : os.userInfo().username;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ringlb-dashboard-"));
  tempDirs.add(dir);
  const configPath = path.join(dir, "ringlb.toml");
  fs.writeFileSync(configPath, [
    "[runtime]", "workers = 2", `user = "${user}"`, 'grace_period = "0s"',
    "[admin]", `listen = "${HOST}:${adminPort}"`, ...(token ? [`token = "${token}"`] : []),
    "[log]", 'access = "off"',
    "[listeners.web]", `bind = "${HOST}:${webPort}"`, 'protocol = "http"', 'pool = "app"',
    "[pools.app]", 'balance = "round_robin"',
    `backends = [ ${backends.map((b) => `{ address = "${b.address}" }`).join(", ")} ]`,
    "[pools.app.health]", 'check = "http"', 'path = "/"', 'interval = "200ms"',
  ].join("\n") + "\n");
  const child = spawn(ringlbBin, ["-c", configPath], { stdio: ["ignore", "pipe", "pipe"] });
  child.log = "";
  for (const stream of [child.stdout, child.stderr]) stream.on("data", (d) => (child.log += d));
  child.on("exit", (code, signal) => {
    if (children.has(child)) fail(`ringlb exited early (code ${code}, signal ${signal})`);
  });
  children.add(child);
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  await until("ringlb's /ready", async () => (await get(adminPort, "/ready", { headers })).status === 200);
  const stop = () => {
    children.delete(child);
    child.kill("SIGKILL");
  };
  return { webPort, adminPort, configPath, stop, admin: `http://${HOST}:${adminPort}` };
}

// A steady stream of requests through the listener, two at a time, until stopped.
function driveTraffic(webPort) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  const traffic = { running: true, sent: 0, failures: 0 };
  const loop = async () => {
    while (traffic.running) {
      try {
        await get(webPort, `/work/${traffic.sent++}`, { agent });
      } catch {
        traffic.failures += 1;
      }
      await sleep(10);
    }
  };
  traffic.done = Promise.all([loop(), loop()]).then(() => agent.destroy());
  return traffic;
}

// pageLoadToken: sent with the request for the page alone, not with the page's own fetches.
async function newPage(pageLoadToken) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  if (pageLoadToken) {
    await context.route(/\/dashboard$/, (route) => route.continue({
      headers: { ...route.request().headers(), authorization: `Bearer ${pageLoadToken}` } }));
  }
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (error) => page.errors.push(error.message));
  return page;
}

const row = (page, backend) => page.locator(`tr[data-pool="app"][data-backend="${backend.address}"]`);
const rowState = (page, backend) => row(page, backend).getAttribute("data-state", { timeout: 1000 });
const field = async (page, backend, name) =>
    parseFloat(await row(page, backend).locator(`td[data-field="${name}"]`).textContent({ timeout: 1000 }));

async function click(page, backend, action) {
  const answered = page.waitForResponse(
      (r) => r.request().method() === "POST" && r.url().endsWith(`/${action}`), { timeout: 10_000 });
  await row(page, backend).locator(`button[data-action="${action}"]`).click({ timeout: 10_000 });
  const response = await answered;
  if (response.status() !== 200) throw new Error(`${action} answered ${response.status()}`);
}

// The listener's HTTP/2 columns sit next to its active connections, and each cell under them
// shows a count ("0" while no client speaks h2; NaN or blank if /status lacked the field).
async function checkListenerH2Columns(page) {
  const headers = (await page.locator("#listeners thead th").allTextContents()).map((h) => h.trim());
  const active = headers.indexOf("Active conns");
  if (active < 0 || headers[active + 1] !== "H2 active" || headers[active + 2] !== "H2 streams") {
    throw new Error(`listener columns: ${headers.join(", ")}`);
  }
  const cells = page.locator('#listeners tr[data-listener="web"] td');
  for (const column of [active, active + 1, active + 2]) {
    const text = (await cells.nth(column).textContent({ timeout: 1000 })).trim();
    if (!/^\d{1,3}(,\d{3})*$/.test(text)) throw new Error(`"${headers[column]}" shows "${text}"`);
  }
}

// ---- the scenarios ----
async function drainAndEnable(backends) {
  const [drained, other] = backends;
  const lb = await startRinglb(backends, "");
  const traffic = driveTraffic(lb.webPort);
  const page = await newPage();
  await page.goto(`${lb.admin}/dashboard`);

  for (const backend of backends) {
    await until(`${backend.address} shown up`, async () => (await rowState(page, backend)) === "up");
    await until(`a request rate for ${backend.address}`, async () => (await field(page, backend, "rate")) > 0);
  }
  await until("a 5xx share for the backend that answers 500",
              async () => (await field(page, other, "errors")) > 0);
  if (!(await page.locator("#cfg-file").textContent()).includes(lb.configPath)) {
    throw new Error("the configuration file is not shown");
  }
  console.log("ok: both backends shown up with a request rate; 5xx share shown");
  await checkListenerH2Columns(page);
  console.log("ok: the listener shows H2 active and H2 streams next to its active connections");

  await click(page, drained, "drain");
  await sleep(300);  // requests already sent to it may still finish
  const before = { drained: drained.hits, other: other.hits, at: Date.now() };
  await until(`${drained.address} shown draining`, async () => (await rowState(page, drained)) === "draining");
  await sleep(Math.max(0, 1500 - (Date.now() - before.at)));
  const drainedHits = drained.hits - before.drained, otherHits = other.hits - before.other;
  if (drainedHits !== 0 || otherHits === 0) {
    throw new Error(`after Drain: ${drained.address} got ${drainedHits} requests, ${other.address} ${otherHits}`);
  }
  console.log(`ok: drained backend shown draining; in 1.5 s it got 0 requests, the other ${otherHits}`);

  const hitsBeforeEnable = drained.hits;
  await click(page, drained, "enable");
  await until(`${drained.address} receiving again`, async () => drained.hits > hitsBeforeEnable + 5);
  await until(`${drained.address} shown up again`, async () => (await rowState(page, drained)) === "up");
  await sleep(2500);  // a few more points on the charts, for the screenshot
  await page.screenshot({ path: screenshotPath });
  console.log(`ok: enabled backend receives again; screenshot in ${screenshotPath}`);

  if (page.errors.length) throw new Error(`errors in the page: ${page.errors.join("; ")}`);
  traffic.running = false;
  await traffic.done;
  if (traffic.failures > 0) throw new Error(`${traffic.failures} of ${traffic.sent} requests failed`);
  await page.context().close();
  lb.stop();
}

async function token(backends) {
  const secret = "dashboard-test-token";
  const lb = await startRinglb(backends, secret);
  // ringlb asks for the token on GET /dashboard itself, which a browser's address bar cannot send:
  // add it to that one request, so what is tested is the page's own fetches.
  const pageLoadToken = (await get(lb.adminPort, "/dashboard")).status === 401 ? secret : "";
  if (pageLoadToken) console.log("note: GET /dashboard itself needs the token; the test adds it to the page load");
  const page = await newPage(pageLoadToken);
  let prompts = 0;
  page.on("dialog", (dialog) => { prompts += 1; dialog.dismiss(); });
  await page.goto(`${lb.admin}/dashboard`);
  await until("the error banner", () => page.locator("#error").isVisible());
  await sleep(1500);  // a few more polls: still one prompt, still the banner
  const banner = await page.locator("#error").textContent();
  if (!banner.includes("401") || prompts !== 1 || !(await page.locator("#error").isVisible())) {
    throw new Error(`without the token: banner "${banner.trim()}", ${prompts} prompts`);
  }
  if (await row(page, backends[0]).count()) throw new Error("backends shown without the token");
  console.log("ok: without the token the page shows a 401 banner and asks once");

  const withToken = await newPage(pageLoadToken);
  await withToken.goto(`${lb.admin}/dashboard#token=${secret}`);
  for (const backend of backends) {
    await until(`${backend.address} shown with the token`, async () => (await rowState(withToken, backend)) === "up");
  }
  await withToken.reload();  // the fragment is gone from the address bar; sessionStorage keeps it
  await until("backends shown after a reload", async () => (await rowState(withToken, backends[0])) === "up");
  if (await withToken.locator("#error").isVisible()) throw new Error("error banner shown with the token");
  if (page.errors.length || withToken.errors.length) {
    throw new Error(`errors in the page: ${[...page.errors, ...withToken.errors].join("; ")}`);
  }
  console.log("ok: with #token= the page shows the backends, also after a reload");

  lb.stop();
  await until("the error banner once ringlb is gone", async () =>
      (await withToken.locator("#error").isVisible()) &&
      (await withToken.locator("#error").textContent()).includes("Cannot read /status"));
  console.log("ok: with ringlb stopped the page says it cannot read /status");
}

try {
  const started = Date.now();
  const backends = [await startBackend("a", false), await startBackend("b", true)];
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: process.getuid() === 0 ? ["--no-sandbox"] : [],
    timeout: 30_000,
  });
  await drainAndEnable(backends);
  await token(backends);
  await browser.close();
  for (const backend of backends) backend.server.close();
  clearTimeout(watchdog);
  console.log(`dashboard.e2e passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(0);
} catch (error) {
  await fail(error.stack || String(error));
}
