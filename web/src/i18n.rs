//! Korean by default, English on request (`?lang=en` sets the `lang` cookie): one table of the
//! pages' words, checked at compile time like the templates that use it.

use axum::http::HeaderMap;
use domain::call::{CallResult, CallStatus};
use domain::campaign::CampaignStatus;

/// The language a page is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ko,
    En,
}

/// Name of the cookie that keeps the choice.
pub const COOKIE: &str = "callbot_lang";

impl Lang {
    /// `?lang=` first, then the cookie, else Korean.
    pub fn of(query_lang: Option<&str>, headers: &HeaderMap) -> Self {
        let cookie = crate::cookie(headers, COOKIE);
        match query_lang.or(cookie.as_deref()) {
            Some("en") => Self::En,
            _ => Self::Ko,
        }
    }

    /// The `lang` attribute of the page.
    pub fn code(self) -> &'static str {
        match self {
            Self::Ko => "ko",
            Self::En => "en",
        }
    }

    /// The page's words.
    pub fn msgs(self) -> &'static Msgs {
        match self {
            Self::Ko => &KO,
            Self::En => &EN,
        }
    }

    /// The label of a status or result code (`COMPLETED`, `SUCCESS`…), the same words the
    /// reports use; the code itself when unknown.
    pub fn label(self, code: &str) -> String {
        let language = match self {
            Self::Ko => domain::script::Language::Ko,
            Self::En => domain::script::Language::En,
        };
        domain::labels::label_code(code, language)
    }

    /// Every status and result label, as JSON for the dashboard's script.
    pub fn labels_json(self) -> String {
        let calls = CallStatus::ALL.iter().map(|status| status.as_str());
        let results = CallResult::ALL.iter().map(|result| result.as_str());
        let campaigns = CampaignStatus::ALL.iter().map(|status| status.as_str());
        // COMPLETED and CANCELLED are both a call's and a campaign's: one entry each.
        let codes = calls.chain(results).chain(campaigns);
        let map: serde_json::Map<String, serde_json::Value> = codes
            .map(|code| (code.to_owned(), self.label(code).into()))
            .collect();
        serde_json::Value::Object(map).to_string()
    }
}

macro_rules! messages {
    ($($key:ident: $ko:expr, $en:expr;)*) => {
        /// The words of the pages, one field per phrase.
        pub struct Msgs { $(pub $key: &'static str,)* }
        static KO: Msgs = Msgs { $($key: $ko,)* };
        static EN: Msgs = Msgs { $($key: $en,)* };
    };
}

messages! {
    other_lang: "English", "한국어";
    other_lang_code: "en", "ko";
    skip: "본문으로 건너뛰기", "Skip to content";
    nav_campaigns: "캠페인", "Campaigns";
    nav_scripts: "저장된 스크립트", "Saved scripts";
    nav_usage: "사용량", "Usage";
    nav_suppressions: "수신 거부 목록", "Do-not-call list";
    nav_settings: "설정", "Settings";
    logout: "로그아웃", "로그아웃";
    login: "로그인", "로그인";
    signup: "회원가입", "회원가입";
    email: "이메일", "이메일";
    password: "비밀번호", "비밀번호";
    password_hint: "8자 이상, 영문과 숫자를 모두 포함", "At least 8 characters with letters and digits";
    no_account: "계정이 없으신가요?", "No account yet?";
    have_account: "이미 계정이 있으신가요?", "Already have an account?";
    wrong_login: "이메일 또는 비밀번호가 올바르지 않습니다.", "The email or password is not right.";
    locked_until: "로그인에 5번 실패해 계정이 잠겼습니다. 잠금 해제 시각:", "Five failed sign-ins locked the account. It unlocks at";
    email_taken: "이미 가입된 이메일입니다.", "An account with this email exists.";
    email_invalid: "올바른 이메일 주소를 입력하세요.", "Enter a valid email address.";
    password_needs: "비밀번호에 필요한 것:", "The password needs:";
    pw_len: "8자 이상", "at least 8 characters";
    pw_letter: "영문자", "a letter";
    pw_digit: "숫자", "a digit";
    error_summary: "문제가 있습니다", "There is a problem";
    csrf_failed: "보안 확인에 실패했습니다. 페이지를 새로 고친 뒤 다시 시도하세요.", "The security check failed. Reload the page and try again.";
    too_many: "요청이 너무 많습니다. 잠시 후 다시 시도하세요.", "Too many requests. Try again shortly.";
    internal: "문제가 생겼습니다. 잠시 후 다시 시도하세요.", "Something went wrong. Try again shortly.";
    not_found: "찾을 수 없습니다.", "Not found.";
    new_campaign: "새 캠페인 만들기", "새 캠페인 만들기";
    what_call: "어떤 전화를 해드릴까요?", "어떤 전화를 해드릴까요?";
    what_call_hint: "10자 이상으로 하고 싶은 통화를 적어 주세요.", "Describe the calls in at least 10 characters.";
    generate: "스크립트 생성", "스크립트 생성";
    generating: "스크립트를 만드는 중입니다…", "Writing the script…";
    examples: "예시 (누르면 입력됩니다)", "Examples (click to use)";
    ex1: "예약 확인 전화해줘. 변경하고 싶으면 다른 시간 제안해", "예약 확인 전화해줘. 변경하고 싶으면 다른 시간 제안해";
    ex2: "결제 리마인더 보내줘. 기한이 내일까지야", "결제 리마인더 보내줘. 기한이 내일까지야";
    ex3: "내일 행사 참석 여부 확인해줘", "내일 행사 참석 여부 확인해줘";
    too_short: "10자 이상 입력하세요.", "Enter at least 10 characters.";
    generation_failed: "스크립트를 만들지 못했습니다. 요청을 조금 바꿔 다시 시도하세요.", "The script could not be written. Rephrase the request and try again.";
    or_reuse: "저장된 스크립트 다시 쓰기", "Reuse a saved script";
    generated_script: "생성된 스크립트", "Generated script";
    edit: "수정", "수정";
    regenerate: "재생성", "재생성";
    save: "저장", "저장";
    cancel_edit: "편집 닫기", "Close editor";
    greeting: "인사", "인사";
    purpose: "목적", "목적";
    flow: "흐름", "흐름";
    closing: "마무리", "마무리";
    step_prefix: "", "Step ";
    step_action: "단계 행동", " action";
    step_responses: "단계 예상 응답 (한 줄에 하나)", " expected responses (one per line)";
    step_yes: "단계 긍정 시 다음 단계 (비우면 마무리)", " next step if yes (empty = closing)";
    step_no: "단계 부정 시 다음 단계 (비우면 마무리)", " next step if no (empty = closing)";
    step_word: "단계", "step ";
    yes_branch: "긍정", "yes";
    no_branch: "부정", "no";
    filled_for: "연락처 한 명으로 채운 모습:", "Filled in for one contact:";
    preview_for: "미리볼 연락처", "Preview for";
    preview_button: "미리보기", "Preview";
    script_saved: "스크립트를 저장했습니다.", "Script saved.";
    contacts: "연락처", "연락처";
    name: "이름", "이름";
    phone: "전화번호", "전화번호";
    add_contact: "연락처 추가", "연락처 추가";
    remove_row: "행 삭제", "Remove row";
    csv_upload: "CSV 업로드", "CSV 업로드";
    csv_hint: "엑셀에서 저장한 CSV(CP949)도 됩니다. 머리글: 이름, 전화번호, 그 밖의 열.", "Excel CSV (CP949) works. Headers: 이름, 전화번호, other columns.";
    csv_load: "파일 불러오기", "Load file";
    csv_report: "가져오지 못한 행", "Rows not imported";
    csv_loaded: "행을 불러왔습니다", "rows loaded";
    line: "행", "line";
    campaign_name: "캠페인 이름", "캠페인 이름";
    campaign_values: "캠페인 공통 값", "Values for the whole campaign";
    campaign_values_hint: "연락처에 없는 스크립트 값은 여기서 한 번만 입력합니다.", "Script values the contacts do not carry, asked once.";
    settings_fold: "캠페인 설정 (통화 시간, 재시도, 녹음, 음성사서함, 발신 번호)", "Campaign settings (call window, retries, recording, voicemail, caller id)";
    window_start: "통화 시작 시각", "Call window start";
    window_end: "통화 종료 시각", "Call window end";
    retries: "재시도 횟수", "Retries";
    retry_intervals: "재시도 간격(초, 쉼표로 구분)", "Retry intervals (seconds, comma-separated)";
    recording: "통화 녹음 (동의 안내 후)", "Record calls (after the consent notice)";
    voicemail: "음성사서함일 때", "On voicemail";
    vm_leave: "메시지 남기기", "Leave a message";
    vm_hang_up: "끊기", "Hang up";
    caller_id: "발신 번호", "Caller id";
    business_name: "상호", "Business name";
    business_name_hint: "상담원이 \"안녕하세요, ○○입니다\"라고 소개할 이름입니다. 캠페인을 시작하려면 필요합니다.", "The name the agent introduces itself with. Needed before a campaign can start.";
    business_phone: "회신 번호", "Callback number";
    business_name_missing: "상호를 입력하세요. 상담원이 통화를 시작할 때 소개하는 이름입니다.", "Enter the business name: the agent introduces itself with it.";
    business_hours: "영업시간", "Business hours";
    start: "캠페인 시작", "캠페인 시작";
    back: "뒤로", "Back";
    name_required: "캠페인 이름을 1~200자로 입력하세요.", "Enter a campaign name of 1 to 200 characters.";
    no_contacts: "연락처를 한 명 이상 추가하세요.", "Add at least one contact.";
    over_budget: "일일 또는 월 예산을 모두 썼습니다. 설정에서 예산을 늘린 뒤 다시 시작하세요.", "The daily or monthly budget is spent. Raise it in Settings, then start again.";
    credits_low: "통화 서비스 잔액이 부족합니다:", "The phone provider's balance is too low:";
    provider_down: "통화 서비스에 연결할 수 없습니다. 잠시 후 다시 시도하세요.", "The phone provider cannot be reached. Try again shortly.";
    invalid_state: "지금 상태에서는 할 수 없습니다:", "Not possible in the campaign's current state:";
    missing_value: "값을 입력하세요.", "Enter a value.";
    progress: "진행 현황", "Progress";
    done: "완료", "완료";
    in_progress: "진행중", "진행중";
    waiting: "대기", "대기";
    failed: "실패", "실패";
    eta: "예상 완료", "Expected to finish";
    eta_minutes: "분 남음", "min left";
    calls: "통화 목록", "Calls";
    status: "상태", "상태";
    result: "결과", "결과";
    duration: "시간", "시간";
    attempts: "시도", "Attempts";
    detail: "상세", "Details";
    pause: "일시정지", "일시정지";
    resume: "재개", "재개";
    cancel: "취소", "취소";
    cancel_confirm: "대기 중인 통화를 모두 취소할까요? 진행 중인 통화는 끝까지 이어집니다.", "Cancel every waiting call? Calls in progress finish.";
    report: "리포트 다운로드", "리포트 다운로드";
    paused_for_budget: "예산 한도에 닿아 일시정지되었습니다.", "Paused: a budget cap was reached.";
    live_off: "실시간 연결이 끊겼습니다. 다시 연결하는 중…", "Live updates lost; reconnecting…";
    call_detail: "통화 상세", "Call details";
    transcript: "대화 내용", "Transcript";
    summary: "요약", "Summary";
    cost: "비용", "Cost";
    telephony: "전화", "Telephony";
    voice: "음성 AI", "Voice AI";
    llm: "요약 AI", "Summary AI";
    total: "합계", "Total";
    recording_audio: "녹음", "Recording";
    consent_yes: "녹음 동의함 — 재생할 수 있습니다.", "Consent given — the recording can be played.";
    consent_no: "녹음 없음 (동의하지 않았거나, 녹음하지 않았거나, 보관 기간이 지났습니다).", "No recording (no consent, not recorded, or purged).";
    close: "닫기", "Close";
    agent: "AI", "Agent";
    callee: "고객", "Callee";
    none_yet: "아직 없습니다.", "Nothing yet.";
    campaign_list: "캠페인 목록", "Campaigns";
    created: "만든 날", "Created";
    no_campaigns: "아직 캠페인이 없습니다. 첫 캠페인을 만들어 보세요.", "No campaigns yet. Create your first one.";
    use_script: "이 스크립트로 새 캠페인", "New campaign with this script";
    version: "버전", "Version";
    draft: "임시", "Draft";
    saved: "저장됨", "Saved";
    no_scripts: "저장된 스크립트가 없습니다.", "No saved scripts.";
    business: "사업장 정보", "Business profile";
    daily_budget: "일일 예산 (USD, 비우면 제한 없음)", "Daily budget (USD, empty = none)";
    monthly_budget: "월 예산 (USD, 비우면 제한 없음)", "Monthly budget (USD, empty = none)";
    alert_threshold: "알림 기준 (USD/월)", "Alert threshold (USD/month)";
    defaults: "새 캠페인 기본값", "New campaign defaults";
    budgets: "예산", "Budgets";
    settings_saved: "설정을 저장했습니다.", "Settings saved.";
    usage_title: "사용량", "Usage";
    by_day: "일별 비용", "Cost by day";
    by_campaign: "캠페인별 비용", "Cost by campaign";
    date: "날짜", "Date";
    today_spend: "오늘 사용", "Spent today";
    month_spend: "이번 달 사용", "Spent this month";
    no_usage: "이 기간에 비용이 없습니다.", "No costs in this period.";
    reason: "사유", "Reason";
    add: "추가", "Add";
    remove: "삭제", "Remove";
    no_suppressions: "수신 거부 번호가 없습니다.", "No numbers are listed.";
    added_at: "등록일", "Added";
}
