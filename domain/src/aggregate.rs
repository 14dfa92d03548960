//! The glue every aggregate shares with cqrs-es, written once.

/// Where an aggregate's `decide` writes the events a command causes.
pub(crate) type Sink<A> = cqrs_es::event_sink::EventSink<A>;

/// What deciding a command comes to: `Ok` once its events are written, or the rule it breaks.
pub(crate) type Decided<E> = Result<(), E>;

/// Implements [`cqrs_es::DomainEvent`] for an event enum: each variant is stored under its own
/// name (which is also serde's external JSON tag) at the given version.
///
/// The variants are listed by hand so the stored names stay deliberate, and the generated
/// `match` is exhaustive: a new variant does not compile until it is named here. Renaming one
/// changes the stored form, so it needs an upcaster first.
macro_rules! domain_event {
    ($event:ident, version $version:literal, [$($variant:ident),+ $(,)?]) => {
        impl cqrs_es::DomainEvent for $event {
            fn event_type(&self) -> String {
                match self {
                    $(Self::$variant { .. } => stringify!($variant),)+
                }
                .to_owned()
            }

            fn event_version(&self) -> String {
                $version.to_owned()
            }
        }
    };
}

/// Implements [`cqrs_es::Aggregate`] (no services) over the aggregate's own two methods:
/// `decide`, which checks a command against the rules and writes the events it causes, and
/// `evolve`, which applies one event and cannot fail.
///
/// Every aggregate's `handle`/`apply` were the same lines around those two bodies.
macro_rules! aggregate {
    ($aggregate:ty, type $type:literal, $command:ty, $event:ty, $error:ty) => {
        impl cqrs_es::Aggregate for $aggregate {
            const TYPE: &'static str = $type;
            type Command = $command;
            type Event = $event;
            type Error = $error;
            type Services = ();

            async fn handle(
                &mut self,
                command: Self::Command,
                _services: &Self::Services,
                sink: &$crate::aggregate::Sink<Self>,
            ) -> Result<(), Self::Error> {
                self.decide(command, sink).await
            }

            fn apply(&mut self, event: Self::Event) {
                self.evolve(event);
            }
        }
    };
}

/// `as_str` and `Display` for a fieldless enum, both giving each variant's wire name: the name
/// serde writes for it (`rename_all = "SCREAMING_SNAKE_CASE"`), which tests pin.
macro_rules! wire_names {
    ($enum:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $enum {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The wire name, e.g. in stored events, CSV exports and JSON answers.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }
        }

        impl std::fmt::Display for $enum {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Why a display name (of a campaign or a script) was refused.
pub(crate) enum NameRefused {
    /// Nothing but whitespace.
    Empty,
    /// More than the allowed number of characters.
    TooLong,
}

/// Trims a display name and checks it holds 1 to `max` characters.
pub(crate) fn display_name(name: &str, max: usize) -> Result<String, NameRefused> {
    let name = name.trim();
    if name.is_empty() {
        Err(NameRefused::Empty)
    } else if name.chars().count() > max {
        Err(NameRefused::TooLong)
    } else {
        Ok(name.to_owned())
    }
}
