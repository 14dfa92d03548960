//! Pieces of the appointment-confirmation script that several script tests start from.

/// The greeting, with the business name still a variable.
pub(crate) const GREETING: &str = "안녕하세요, {businessName}입니다.";

/// Why we call, with the customer's name and appointment time still variables.
pub(crate) const PURPOSE: &str =
    "{customerName}님, 내일 {appointmentTime}에 예약이 있으셔서 확인차 연락드렸습니다.";
