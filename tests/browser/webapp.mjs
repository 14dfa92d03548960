// The clinic owner's whole path through the web app in headless Chromium, against a running
// `callbot serve` on the sandbox, once at desktop size and once at 390×844:
//   sign up → write the request → 스크립트 생성 → edit one step → add contacts by typing and by
//   CSV (sandbox numbers 010-5550-0101 … 0113) → 캠페인 시작 → the dashboard reaches 100 %
//   live (no reload) → a call's detail with its recording playing → both reports downloaded.
// Elements are found by role and accessible name (the exact Korean names of issue 14). Every
// page is screenshotted into ARTIFACTS; bytes per page (HTML + CSS + JS) and time to first
// render are measured and printed as JSON with the sign-up → started-campaign time.
//
//   node webapp.mjs http://127.0.0.1:8080 target/browser-artifacts
//
// CHROMIUM overrides the browser (default /usr/bin/chromium, Debian's package).

import { chromium } from "playwright-core";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [base, artifacts = "browser-artifacts"] = process.argv.slice(2);
if (!base) {
  console.error("usage: node webapp.mjs BASE_URL [ARTIFACTS_DIR]");
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });

const request = "내일 오후 2시 예약 고객들에게 전화해서 예약 확인하고, 변경 원하면 다른 시간 제안해줘. 취소하면 취소 사유도 물어봐줘.";
const typed = [["김철수", "010-5550-0101"], ["이영희", "010-5550-0102"]];
const csvRows = [];
for (let n = 3; n <= 13; n++) csvRows.push(`고객${n},010-5550-01${String(n).padStart(2, "0")},2026-02-06 15:00`);
const csv = `이름,전화번호,예약시간\n${csvRows.join("\n")}\n잘못된 번호,12345,2026-02-06 16:00\n`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required"],
});

const results = {};
let failed = false;
// The page of the flow under way, so a failure leaves a screenshot and the page's own errors.
let current = null;
try {
  for (const [label, viewport] of [["desktop", { width: 1280, height: 900 }], ["mobile", { width: 390, height: 844 }]]) {
    results[label] = await flow(label, viewport);
  }
} catch (error) {
  console.error(error);
  failed = true;
  if (current) {
    await current.page.screenshot({ path: join(artifacts, `${current.label}-failure.png`), fullPage: true }).catch(() => {});
    const shown = await current.page.locator(".error-summary, .field-error").allInnerTexts().catch(() => []);
    console.error(`${current.label}: failed at ${current.page.url()}; the page says: ${JSON.stringify(shown)}`);
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(results, null, 2));
writeFileSync(join(artifacts, "measurements.json"), JSON.stringify(results, null, 2));
process.exit(failed ? 1 : 0);

async function flow(label, viewport) {
  const context = await browser.newContext({ viewport, acceptDownloads: true, locale: "ko-KR" });
  const page = await context.newPage();
  current = { label, page };
  const measured = {};
  // Bytes of every response of the page's own origin, by page.
  let bytes = 0;
  page.on("response", async (response) => {
    if (!response.url().startsWith(base) || response.url().includes("/status")) return;
    try { bytes += (await response.body()).length; } catch { /* streams and redirects */ }
  });
  const shot = async (name) => {
    await page.screenshot({ path: join(artifacts, `${label}-${name}.png`), fullPage: true });
    const paint = await page.evaluate(() => {
      const entry = performance.getEntriesByType("paint").find((e) => e.name === "first-contentful-paint");
      return entry ? Math.round(entry.startTime) : null;
    });
    measured[name] = { bytes, firstRenderMs: paint };
    bytes = 0;
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    if (width > viewport.width) throw new Error(`${label} ${name}: scrolls sideways (${width}px > ${viewport.width}px)`);
  };

  bytes = 0;
  await page.goto(`${base}/signup`);
  await shot("signup");
  const started = Date.now();
  await page.getByLabel("이메일").fill(`owner-${label}-${Date.now()}@clinic.kr`);
  await page.getByLabel("비밀번호").fill("password123");
  bytes = 0;
  await page.getByRole("button", { name: "회원가입", exact: true }).click();
  await page.waitForURL("**/campaigns/new");
  await shot("new-campaign");

  await page.getByRole("button", { name: "내일 행사 참석 여부 확인해줘" }).click();
  await page.getByLabel("어떤 전화를 해드릴까요?").fill(request);
  bytes = 0;
  await page.getByRole("button", { name: "스크립트 생성", exact: true }).click();
  await page.waitForURL("**/campaigns/setup?script=*");
  await shot("script-and-contacts");

  await page.getByRole("button", { name: "수정", exact: true }).click();
  const step = page.getByLabel("1단계 행동");
  await step.fill("{customerName}님, 내일 {appointmentTime} 예약이 맞으신지 여쭙니다.");
  bytes = 0;
  await page.getByRole("button", { name: "저장", exact: true }).click();
  await page.getByText("스크립트를 저장했습니다.").waitFor();
  if (!(await page.getByText("예약이 맞으신지 여쭙니다").first().isVisible())) throw new Error("the edited step is not shown");

  await page.getByLabel("이름 1").fill(typed[0][0]);
  await page.getByLabel("전화번호 1").fill(typed[0][1]);
  await page.getByRole("button", { name: "연락처 추가", exact: true }).click();
  await page.getByLabel("이름 2").fill(typed[1][0]);
  await page.getByLabel("전화번호 2").fill(typed[1][1]);
  // Each typed contact's own value of the script (the CSV carries its column).
  await page.getByLabel("예약 시간 1").fill("2026-02-06 14:00");
  await page.getByLabel("예약 시간 2").fill("2026-02-06 14:30");
  bytes = 0;
  await page.getByLabel("CSV 업로드").setInputFiles({ name: "contacts.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await page.getByText("가져오지 못한 행").waitFor();
  await shot("contacts-loaded");
  const phones = await page.locator('input[name="row_phone"]').evaluateAll((inputs) => inputs.map((i) => i.value));
  if (phones.filter(Boolean).length !== 13) throw new Error(`13 contacts expected, got ${JSON.stringify(phones)}`);

  await page.getByLabel("캠페인 이름").fill("2월 5일 예약 확인");
  await page.getByLabel("상호").fill("행복치과");
  for (const input of await page.locator('input[name^="var_"]').all()) await input.fill("오후 3시, 오후 4시");
  await page.locator("details.settings summary").click();
  await page.getByLabel("통화 시작 시각").fill("00:00");
  await page.getByLabel("통화 종료 시각").fill("24:00");
  await page.getByLabel("재시도 간격(초, 쉼표로 구분)").fill("1, 1, 1");
  bytes = 0;
  await page.getByRole("button", { name: "캠페인 시작", exact: true }).click();
  await page.waitForURL(/\/campaigns\/[0-9a-f-]{36}$/);
  measured.signUpToStartedMs = Date.now() - started;
  await shot("dashboard-start");

  // Live: no reload from here until the bar is full.
  const navigations = [];
  page.on("framenavigated", (frame) => { if (frame === page.mainFrame()) navigations.push(frame.url()); });
  await page.locator("[data-percent]").filter({ hasText: /^100$/ }).waitFor({ timeout: 240_000 });
  if (navigations.length) throw new Error(`the dashboard reloaded: ${navigations}`);
  await page.getByText("완료", { exact: true }).first().waitFor();
  await shot("dashboard-done");

  bytes = 0;
  await page.getByRole("link", { name: /상세: 김철수/ }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByText("녹음 동의함").waitFor();
  const audio = dialog.locator("audio");
  await audio.evaluate((el) => el.play());
  await page.waitForFunction(() => { const a = document.querySelector("dialog audio"); return a && a.currentTime > 0; });
  await shot("call-detail");
  await dialog.getByRole("button", { name: "닫기" }).click();

  for (const format of ["CSV", "PDF"]) {
    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: format, exact: true }).click();
    const file = await download;
    await file.saveAs(join(artifacts, `${label}-report.${format.toLowerCase()}`));
  }

  for (const [name, path, heading] of [["campaigns", "/campaigns", "캠페인 목록"], ["scripts", "/scripts", "저장된 스크립트"], ["settings", "/settings", "설정"], ["usage", "/usage", "사용량"], ["suppressions", "/suppressions", "수신 거부 목록"]]) {
    bytes = 0;
    await page.goto(`${base}${path}`);
    await page.getByRole("heading", { name: heading, level: 1 }).waitFor();
    await shot(name);
  }
  bytes = 0;
  await page.getByRole("button", { name: "로그아웃" }).click();
  await page.waitForURL("**/login");
  await shot("login");
  await context.close();
  return measured;
}
