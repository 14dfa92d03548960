// Opens the API docs page (/docs) of a running server in headless Chromium with every request
// that is not for the server itself refused, waits for the operations to render, checks the
// title and some operations are on the page, and saves a screenshot.
//
//   node docs.mjs http://127.0.0.1:8080 /tmp/docs.png
//
// Exit status 0 when the page rendered offline, 1 otherwise. CHROMIUM overrides the browser
// (default /usr/bin/chromium, Debian's package).

import { chromium } from "playwright-core";

const [base, screenshot = "docs.png"] = process.argv.slice(2);
if (!base) {
  console.error("usage: node docs.mjs BASE_URL [SCREENSHOT.png]");
  process.exit(2);
}

const expectedTitle = "Auto CallBot API";
// Paths as Swagger UI prints them (the operations of several tags).
const expectedOperations = [
  "/api/v1/auth/login",
  "/api/v1/scripts/generate",
  "/api/v1/campaigns/{id}/start",
  "/api/v1/campaigns/{id}/status",
  "/twilio/status/{call_id}",
  "/healthz",
];

const loopback = new Set(["127.0.0.1", "localhost", "[::1]"]);
const refused = [];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
let failed = false;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 2000 } });
  // The network is off for anything but the server under test.
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    const local = (url.protocol === "http:" || url.protocol === "https:") && loopback.has(url.hostname);
    if (local || url.protocol === "data:" || url.protocol === "blob:") {
      return route.continue();
    }
    refused.push(url.href);
    return route.abort("internetdisconnected");
  });
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(String(error)));

  const response = await page.goto(`${base}/docs/`, { waitUntil: "load", timeout: 180_000 });
  if (!response || !response.ok()) {
    throw new Error(`GET /docs/ answered ${response && response.status()}`);
  }
  await page.waitForSelector(".opblock", { timeout: 180_000 });
  const title = (await page.locator(".information-container .title").first().innerText()).trim();
  if (!title.startsWith(expectedTitle)) {
    throw new Error(`the title shown is ${JSON.stringify(title)}, not ${expectedTitle}`);
  }
  const shown = await page.locator(".opblock-summary-path").allInnerTexts();
  const paths = new Set(shown.map((text) => text.replace(/\u200b/g, "").trim()));
  const missing = expectedOperations.filter((path) => !paths.has(path));
  if (missing.length > 0) {
    throw new Error(`operations not shown: ${missing.join(", ")} (shown: ${paths.size})`);
  }
  await page.screenshot({ path: screenshot, fullPage: false });
  if (pageErrors.length > 0) {
    throw new Error(`script errors on the page: ${pageErrors.join("; ")}`);
  }
  console.log(
    `docs page OK: "${title}", ${paths.size} operations shown, ${refused.length} outside requests refused; screenshot ${screenshot}`,
  );
} catch (error) {
  failed = true;
  console.error(`docs page check FAILED: ${error.message}`);
  if (refused.length > 0) {
    console.error(`requests refused (the page must not need them): ${refused.join(", ")}`);
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
