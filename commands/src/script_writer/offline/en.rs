//! The English scripts.

use domain::script::Language;

use super::analysis::{Analysis, Business, day_en};
use super::{APPOINTMENT, Draft, NOTICE, YES_OR_NO, flow, line};

const GREETING: &str = "Hello, this is {businessName}.";
const CLOSING: &str = "Thank you for your time. If you have any questions, feel free to give us \
                       a call. Have a great day!";

struct Words {
    /// appointment, reservation, consultation…
    booking: &'static str,
    /// What is paid: your payment, this month's tuition…
    bill: &'static str,
}

fn words(business: Business) -> Words {
    let (booking, bill) = match business {
        Business::Clinic | Business::Dental | Business::Salon | Business::Other => {
            ("appointment", "your payment")
        }
        Business::Academy => ("consultation", "this month's tuition"),
        Business::Restaurant => ("reservation", "your deposit"),
        Business::Fitness => ("session", "this month's membership fee"),
    };
    Words { booking, bill }
}

pub fn appointment(analysis: &Analysis) -> Draft {
    let words = words(analysis.business);
    let booking = words.booking;
    let when = match analysis.day {
        Some(day) => format!("{} at {{appointmentTime}}", day_en(day)),
        None => "at {appointmentTime}".to_owned(),
    };
    let cancel = if analysis.ask_cancel_reason {
        line(
            "Of course, I'll cancel it for you. If you don't mind me asking, what's the reason \
             for cancelling? It helps us serve you better.",
            &[
                "Something came up",
                "I'm feeling better now",
                "I'd rather not say",
            ],
        )
    } else {
        line(
            "Of course, I'll cancel it for you. Whenever you'd like to book again, just give us \
             a call.",
            &["Okay, thank you"],
        )
    };
    Draft {
        greeting: GREETING.to_owned(),
        purpose: format!("Hi {{customerName}}, I'm calling to confirm your {booking} {when}."),
        main_flow: flow(
            APPOINTMENT,
            [
                line(
                    "Will you still be able to make it?",
                    &[
                        "Yes, I'll be there",
                        "Can I change the time?",
                        "I need to cancel",
                    ],
                ),
                line(
                    format!(
                        "No problem. Would you like to move your {booking} to another time, or \
                         should I cancel it for you?"
                    ),
                    &["Let's move it", "Please cancel it"],
                ),
                line(
                    "We have openings at {availableTimes}. Would any of those work for you?",
                    &["The second one works", "None of those work for me"],
                ),
                cancel,
                line(
                    format!(
                        "Great, I'll move your {booking} to that time and send you a text with \
                         the new details."
                    ),
                    &["Thanks"],
                ),
                line(
                    "No problem. What day and time would suit you best? I'll check and call you \
                     back to confirm.",
                    &["Tuesday morning would be good", "I'll call you back myself"],
                ),
            ],
        ),
        closing: CLOSING.to_owned(),
    }
}

pub fn payment(analysis: &Analysis) -> Draft {
    let bill = words(analysis.business).bill;
    let amount = analysis.amount_in(Language::En);
    let due = analysis.due_in(Language::En);
    Draft {
        greeting: GREETING.to_owned(),
        purpose: format!(
            "Hi {{customerName}}, this is a friendly reminder that {bill} of {amount} is due {due}."
        ),
        main_flow: flow(
            YES_OR_NO,
            [
                line(
                    "Will you be able to take care of it by then?",
                    &[
                        "Yes, I will",
                        "I've already paid",
                        "I might be a little late",
                    ],
                ),
                line(
                    "Thank you for confirming. If you've already paid, please disregard this \
                     reminder.",
                    &["Okay"],
                ),
                line(
                    "That's alright. Could you tell me roughly when you'll be able to pay? I'll \
                     pass it on to our team.",
                    &["Next Monday", "After payday"],
                ),
            ],
        ),
        closing: "Thanks for your time. If you have any questions about the payment, just give \
                  us a call. Have a great day!"
            .to_owned(),
    }
}

pub fn event(analysis: &Analysis) -> Draft {
    let name = analysis
        .event_name_in(Language::En)
        .map_or_else(|| "{eventName}".to_owned(), |name| format!("the {name}"));
    let when = analysis.event_when_in(Language::En);
    Draft {
        greeting: GREETING.to_owned(),
        purpose: format!(
            "Hi {{customerName}}, I'm calling to see if you'll be joining us for {name} {when}."
        ),
        main_flow: flow(
            YES_OR_NO,
            [
                line(
                    "Will you be able to make it?",
                    &[
                        "Yes, I'll be there",
                        "I can't make it this time",
                        "I'm not sure yet",
                    ],
                ),
                line(
                    "Wonderful. Will anyone be coming with you? It helps us prepare.",
                    &["Just me", "I'll bring one friend"],
                ),
                line(
                    "That's a shame. Would it be alright if we let you know about the next one?",
                    &["Sure", "No, thank you"],
                ),
            ],
        ),
        closing: "Thanks so much for your time. Have a great day!".to_owned(),
    }
}

pub fn notice(analysis: &Analysis) -> Draft {
    let same = analysis.same_language(Language::En);
    let announcement = match &analysis.notice {
        Some(sentence) if same => sentence.clone(),
        _ => "{noticeDetails}".to_owned(),
    };
    Draft {
        greeting: GREETING.to_owned(),
        purpose: "Hi {customerName}, I'm calling with a quick update from {businessName}."
            .to_owned(),
        main_flow: flow(
            NOTICE,
            [
                line(
                    format!("{announcement} Do you have any questions about this?"),
                    &["Yes, one question", "No, that's all"],
                ),
                line(
                    "Of course, go ahead. If I can't answer it right away, someone from our team \
                     will call you back.",
                    &["When does this start?", "Can you text me the details?"],
                ),
            ],
        ),
        closing: CLOSING.to_owned(),
    }
}
