//! The English scripts.

use domain::script::Language;

use super::analysis::{Analysis, Business, Deadline, clock_en, day_en};
use super::{Draft, step};

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
        Business::Clinic | Business::Dental | Business::Salon => ("appointment", "your payment"),
        Business::Academy => ("consultation", "this month's tuition"),
        Business::Restaurant => ("reservation", "your deposit"),
        Business::Fitness => ("session", "this month's membership fee"),
        Business::Other => ("appointment", "your payment"),
    };
    Words { booking, bill }
}

pub fn appointment(analysis: &Analysis) -> Draft {
    let words = words(analysis.business);
    let booking = words.booking;
    let when = match analysis.when.day {
        Some(day) => format!("{} at {{appointmentTime}}", day_en(day)),
        None => "at {appointmentTime}".to_owned(),
    };
    let cancel = if analysis.ask_cancel_reason {
        step(
            4,
            "Of course, I'll cancel it for you. If you don't mind me asking, what's the reason \
             for cancelling? It helps us serve you better.",
            &[
                "Something came up",
                "I'm feeling better now",
                "I'd rather not say",
            ],
            None,
            None,
        )
    } else {
        step(
            4,
            "Of course, I'll cancel it for you. Whenever you'd like to book again, just give us \
             a call.",
            &["Okay, thank you"],
            None,
            None,
        )
    };
    Draft {
        greeting: GREETING.to_owned(),
        purpose: format!("Hi {{customerName}}, I'm calling to confirm your {booking} {when}."),
        main_flow: vec![
            step(
                1,
                "Will you still be able to make it?",
                &[
                    "Yes, I'll be there",
                    "Can I change the time?",
                    "I need to cancel",
                ],
                None,
                Some(2),
            ),
            step(
                2,
                &format!(
                    "No problem. Would you like to move your {booking} to another time, or \
                     should I cancel it for you?"
                ),
                &["Let's move it", "Please cancel it"],
                Some(3),
                Some(4),
            ),
            step(
                3,
                "We have openings at {availableTimes}. Would any of those work for you?",
                &["The second one works", "None of those work for me"],
                Some(5),
                Some(6),
            ),
            cancel,
            step(
                5,
                &format!(
                    "Great, I'll move your {booking} to that time and send you a text with the \
                     new details."
                ),
                &["Thanks"],
                None,
                None,
            ),
            step(
                6,
                "No problem. What day and time would suit you best? I'll check and call you \
                 back to confirm.",
                &["Tuesday morning would be good", "I'll call you back myself"],
                None,
                None,
            ),
        ],
        closing: CLOSING.to_owned(),
    }
}

pub fn payment(analysis: &Analysis) -> Draft {
    let words = words(analysis.business);
    let amount = analysis.amount_in(Language::En);
    let due = match analysis.when.deadline {
        Some(Deadline::Day(day)) => day_en(day),
        Some(Deadline::EndOfWeek) => "by the end of this week".to_owned(),
        Some(Deadline::EndOfMonth) => "by the end of the month".to_owned(),
        None => "on {dueDate}".to_owned(),
    };
    Draft {
        greeting: GREETING.to_owned(),
        purpose: format!(
            "Hi {{customerName}}, this is a friendly reminder that {} of {amount} is due {due}.",
            words.bill
        ),
        main_flow: vec![
            step(
                1,
                "Will you be able to take care of it by then?",
                &[
                    "Yes, I will",
                    "I've already paid",
                    "I might be a little late",
                ],
                Some(2),
                Some(3),
            ),
            step(
                2,
                "Thank you for confirming. If you've already paid, please disregard this \
                 reminder.",
                &["Okay"],
                None,
                None,
            ),
            step(
                3,
                "That's alright. Could you tell me roughly when you'll be able to pay? I'll pass \
                 it on to our team.",
                &["Next Monday", "After payday"],
                None,
                None,
            ),
        ],
        closing: "Thanks for your time. If you have any questions about the payment, just give \
                  us a call. Have a great day!"
            .to_owned(),
    }
}

pub fn event(analysis: &Analysis) -> Draft {
    // An unnamed or undated event is "our upcoming event", never a placeholder.
    let name = analysis
        .event_name
        .as_ref()
        .filter(|_| analysis.same_language(Language::En))
        .map_or_else(
            || "our upcoming event".to_owned(),
            |name| format!("the {name}"),
        );
    let when = match (analysis.when.day, analysis.when.clock) {
        (Some(day), Some(clock)) => format!(" {} at {}", day_en(day), clock_en(clock)),
        (Some(day), None) => format!(" {}", day_en(day)),
        (None, Some(clock)) => format!(" at {}", clock_en(clock)),
        (None, None) => String::new(),
    };
    Draft {
        greeting: GREETING.to_owned(),
        purpose: format!(
            "Hi {{customerName}}, I'm calling to see if you'll be joining us for {name}{when}."
        ),
        main_flow: vec![
            step(
                1,
                "Will you be able to make it?",
                &[
                    "Yes, I'll be there",
                    "I can't make it this time",
                    "I'm not sure yet",
                ],
                Some(2),
                Some(3),
            ),
            step(
                2,
                "Wonderful. Will anyone be coming with you? It helps us prepare.",
                &["Just me", "I'll bring one friend"],
                None,
                None,
            ),
            step(
                3,
                "That's a shame. Would it be alright if we let you know about the next one?",
                &["Sure", "No, thank you"],
                None,
                None,
            ),
        ],
        closing: "Thanks so much for your time. Have a great day!".to_owned(),
    }
}
