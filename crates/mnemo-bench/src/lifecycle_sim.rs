//! The `lifecycle` suite's workload: a seeded simulation of a year of an
//! assistant's writes, with what each write really is (new, a repeat, a
//! changed value) known to the generator.
//!
//! One assistant serves a population of users (one per 1,000 writes, named
//! `First Last`, every name distinct) and writes what it learns into one
//! namespace, in time order, over 365 days from 2024-01-01 (UTC): write `i`
//! of `n` falls at a random instant of the `i`-th of `n` equal steps of the
//! year, so times increase. Each write is about one user drawn uniformly
//! and is, with these probabilities:
//!
//! - **a preference** (15%), one of [`PREFERENCES`] (12 per user: the
//!   editor's theme, the morning drink, ...). A user's first statement of
//!   one is [`Label::New`]. Each preference may **change** (drift): at
//!   setup it gets 0, 1, 2 or 3 change times (45/35/15/5%) spread over the
//!   year; the first statement after a change time states a value the
//!   preference never had ([`Label::Changed`]); every other statement
//!   restates the current value ([`Label::Repeat`]). A value never comes
//!   back, so "the newest version" is one value, and a restatement of an
//!   old value never happens.
//! - **a fact** about the user (15%), one of [`FACTS`] (home, employer,
//!   pet, ...), fixed for the year: the first statement is new, the rest
//!   repeat it.
//! - **a daily note** (30%): an event on that day with a person at a
//!   place.
//! - **a tool result** (40%): weather, calendar, flights, fitness or
//!   expenses, with the day, a time and numbers.
//!
//! Every statement is drawn in one of its attribute's two word orders, with
//! a filler (none in 6 of 10; else `Actually,`, `By the way,`, `Just so
//! you know,` or `as usual`), an end (`.`, `!` or none) and, one time in
//! five, a lower-case first letter: a repeat is a small paraphrase of the
//! first statement, sometimes the very same text. A note or tool result
//! whose text was written before (rare) is labelled a repeat of it, so
//! identical texts always carry the same [`Truth::fact`].
//!
//! Facts and preferences are semantic memories tagged `profile` or
//! `preference`, source `chat/{user}/{day}`; notes are episodic, tagged
//! `note`, same source; tool results are episodic, tagged `tool`, source
//! `tool/{name}`.
//!
//! The stream is a pure function of ([`Spec::writes`], [`Spec::seed`]):
//! [`SplitMix64`] streams derived with [`mix64`], no other randomness.

use std::collections::HashMap;

use mnemo::{Kind, NewMemory, Timestamp};

use crate::random::{Draw, SplitMix64, mix64};

/// Writes of the full simulation.
pub const FULL_WRITES: usize = 1_000_000;
/// Writes of `--quick`.
pub const QUICK_WRITES: usize = 20_000;
/// The default seed.
pub const SEED: u64 = 0x6c69_6665_6379_636c;
/// Writes per simulated user (the population grows with the stream).
pub const WRITES_PER_USER: usize = 1_000;
/// Days simulated.
pub const DAYS: i64 = 365;
/// 2024-01-01T00:00:00Z, the simulation's first instant, in seconds.
pub const START_SECS: i64 = 1_704_067_200;
/// Nanoseconds per day.
const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// First names of the users (and of the people in their notes).
const FIRST: [&str; 50] = [
    "Maya", "Tom", "Ana", "Lukas", "Priya", "Omar", "Sofia", "Jonas", "Elena", "Kenji", "Chloe",
    "Mateo", "Ingrid", "Ravi", "Zoe", "Felix", "Amara", "Hugo", "Lena", "Diego", "Nora", "Sami",
    "Clara", "Ivan", "Yuki", "Marta", "Leon", "Aisha", "Pablo", "Greta", "Noah", "Leila", "Emil",
    "Hana", "Victor", "Rosa", "Arjun", "Freya", "Tariq", "Julia", "Oskar", "Mei", "Bruno", "Alma",
    "Nikolai", "Ines", "Kofi", "Vera", "Rafael", "Selin",
];
/// Last names of the users.
const LAST: [&str; 50] = [
    "Fischer",
    "Okafor",
    "Silva",
    "Novak",
    "Tanaka",
    "Haddad",
    "Rossi",
    "Berg",
    "Kowalski",
    "Mendes",
    "Dubois",
    "Larsen",
    "Costa",
    "Meyer",
    "Sato",
    "Nakamura",
    "Petrov",
    "Moreau",
    "Schmidt",
    "Lindqvist",
    "Alvarez",
    "Kaur",
    "Brennan",
    "Hoffmann",
    "Ibrahim",
    "Jansen",
    "Keller",
    "Lopez",
    "Mazur",
    "Nielsen",
    "Oliveira",
    "Park",
    "Quinn",
    "Romero",
    "Suzuki",
    "Torres",
    "Urban",
    "Vogel",
    "Wagner",
    "Xu",
    "Yilmaz",
    "Zimmer",
    "Adler",
    "Bianchi",
    "Castro",
    "Dahl",
    "Eriksen",
    "Ferreira",
    "Gallo",
    "Horvat",
];
/// Distinct users at most (every first name with every last name).
pub const MAX_USERS: usize = FIRST.len() * LAST.len();

/// A preference: its two word orders (`{n}` the user, `{v}` the value),
/// its values, and the question a probe asks about it.
#[derive(Debug, Clone, Copy)]
pub struct Preference {
    /// Short name (params and tests).
    pub name: &'static str,
    /// Two word orders of one statement.
    pub forms: [&'static str; 2],
    /// The values it may take (each at most once per user).
    pub values: &'static [&'static str],
    /// A paraphrased question whose answer is the current value.
    pub question: &'static str,
}

/// The preferences every user has.
pub const PREFERENCES: [Preference; 12] = [
    Preference {
        name: "editor theme",
        forms: [
            "{n} prefers {v} in the editor",
            "In the editor, {n} prefers {v}",
        ],
        values: &[
            "dark mode",
            "light mode",
            "solarized colours",
            "high contrast",
            "sepia tones",
        ],
        question: "what theme does {n} prefer in the editor?",
    },
    Preference {
        name: "morning drink",
        forms: [
            "{n} drinks {v} in the morning",
            "In the morning {n} drinks {v}",
        ],
        values: &[
            "an oat flat white",
            "a black americano",
            "a cortado",
            "an iced latte",
            "green tea",
        ],
        question: "what does {n} like to drink in the morning?",
    },
    Preference {
        name: "flight seat",
        forms: [
            "{n} books {v} seats on flights",
            "On flights, {n} books {v} seats",
        ],
        values: &["aisle", "window", "exit row", "front row", "bulkhead"],
        question: "which seat does {n} want on a flight?",
    },
    Preference {
        name: "meeting reminders",
        forms: [
            "{n} wants meeting reminders {v} before",
            "Meeting reminders for {n}: {v} before",
        ],
        values: &[
            "five minutes",
            "ten minutes",
            "fifteen minutes",
            "half an hour",
            "one hour",
        ],
        question: "how early should {n} get meeting reminders?",
    },
    Preference {
        name: "reply language",
        forms: [
            "{n} wants replies in {v}",
            "Replies to {n} should be in {v}",
        ],
        values: &["English", "German", "Portuguese", "Spanish", "French"],
        question: "which language should the assistant reply to {n} in?",
    },
    Preference {
        name: "news digest",
        forms: [
            "{n} reads the news digest at {v}",
            "At {v}, {n} reads the news digest",
        ],
        values: &["7 am", "8 am", "noon", "6 pm", "9 pm"],
        question: "when does {n} want the daily news digest?",
    },
    Preference {
        name: "work music",
        forms: [
            "{n} listens to {v} while working",
            "While working, {n} listens to {v}",
        ],
        values: &[
            "lo-fi beats",
            "classical piano",
            "jazz records",
            "ambient noise",
            "film scores",
        ],
        question: "what music does {n} play while working?",
    },
    Preference {
        name: "diet",
        forms: ["{n} eats a {v} diet", "{n} keeps to a {v} diet"],
        values: &[
            "vegetarian",
            "vegan",
            "pescatarian",
            "gluten-free",
            "low-carb",
        ],
        question: "what diet does {n} follow?",
    },
    Preference {
        name: "contact channel",
        forms: [
            "{n} prefers contact by {v}",
            "Contact {n} by {v}, preferably",
        ],
        values: &["Slack", "email", "text message", "phone call", "Signal"],
        question: "how does {n} want to be contacted?",
    },
    Preference {
        name: "terminal font",
        forms: [
            "{n} uses a {v} font in the terminal",
            "In the terminal {n} uses a {v} font",
        ],
        values: &["small", "medium", "large", "extra large", "tiny"],
        question: "what font size does {n} use in the terminal?",
    },
    Preference {
        name: "exercise",
        forms: ["{n} exercises with {v}", "For exercise, {n} does {v}"],
        values: &[
            "morning runs",
            "evening yoga",
            "lunchtime swims",
            "weekend cycling",
            "gym sessions",
        ],
        question: "what exercise does {n} prefer?",
    },
    Preference {
        name: "summary format",
        forms: [
            "{n} wants summaries as {v}",
            "Summaries for {n} should be {v}",
        ],
        values: &[
            "short bullet points",
            "a detailed report",
            "one paragraph",
            "a table",
            "a voice note",
        ],
        question: "how does {n} like summaries written?",
    },
];

/// The facts every user has: two word orders each (`{n}` the user, `{a}`
/// and `{b}` the fact's parts).
pub const FACTS: [[&str; 2]; 10] = [
    ["{n} lives in {a}", "In {a} is where {n} lives"],
    ["{n} works at {a} as a {b}", "{n} is a {b} at {a}"],
    ["{n}'s partner is {a}", "{a} is the partner of {n}"],
    ["{n} has a {b} named {a}", "{n}'s {b} is named {a}"],
    ["{n} was born on {a}", "The birth date of {n} is {a}"],
    ["{n} is allergic to {a}", "Note that {n} is allergic to {a}"],
    ["{n} drives a {a}", "{n}'s car is a {a}"],
    ["{n}'s doctor is Dr. {a}", "Dr. {a} is the doctor of {n}"],
    ["{n} speaks {a} and {b}", "{n} speaks {b} and {a}"],
    ["{n} trains at {a} on {b}", "On {b} {n} trains at {a}"],
];

const CITIES: [&str; 24] = [
    "Lisbon", "Berlin", "Porto", "Vienna", "Oslo", "Madrid", "Lyon", "Krakow", "Dublin", "Zurich",
    "Milan", "Tallinn", "Ghent", "Seville", "Bergen", "Leipzig", "Turin", "Bordeaux", "Gdansk",
    "Cork", "Basel", "Valencia", "Malmo", "Bologna",
];
const COMPANIES: [&str; 16] = [
    "Northwind",
    "Contoso",
    "Initech",
    "Globex",
    "Umbrella Labs",
    "Acme Robotics",
    "Hooli",
    "Vandelay Imports",
    "Stark Logistics",
    "Wayne Health",
    "Tyrell Energy",
    "Soylent Foods",
    "Cyberdyne Data",
    "Pied Piper",
    "Gringotts Bank",
    "Wonka Sweets",
];
const ROLES: [&str; 12] = [
    "data engineer",
    "product manager",
    "nurse",
    "teacher",
    "designer",
    "accountant",
    "architect",
    "lawyer",
    "chef",
    "pharmacist",
    "sales lead",
    "researcher",
];
const PETS: [&str; 5] = ["dog", "cat", "parrot", "rabbit", "tortoise"];
const PET_NAMES: [&str; 16] = [
    "Biscuit", "Luna", "Pepper", "Milo", "Nala", "Rocky", "Olive", "Ziggy", "Mochi", "Bruno",
    "Pixel", "Juniper", "Tofu", "Waffles", "Koda", "Sprout",
];
const ALLERGENS: [&str; 8] = [
    "peanuts",
    "shellfish",
    "pollen",
    "penicillin",
    "cat hair",
    "dust mites",
    "sesame",
    "latex",
];
const CARS: [&str; 10] = [
    "blue Volvo estate",
    "white Toyota hybrid",
    "red Fiat 500",
    "grey Tesla Model 3",
    "green Skoda Octavia",
    "black VW Golf",
    "silver Renault Zoe",
    "yellow Mini Cooper",
    "dark Audi A4",
    "orange Kia Soul",
];
const LANGUAGES: [&str; 8] = [
    "English",
    "German",
    "Portuguese",
    "Spanish",
    "French",
    "Polish",
    "Japanese",
    "Arabic",
];
const GYMS: [&str; 8] = [
    "the Riverside gym",
    "the climbing hall",
    "the city pool",
    "the boxing club",
    "the yoga studio",
    "the park track",
    "the CrossFit box",
    "the tennis club",
];
const WEEKDAYS: [&str; 7] = [
    "Mondays",
    "Tuesdays",
    "Wednesdays",
    "Thursdays",
    "Fridays",
    "Saturdays",
    "Sundays",
];
const EVENTS: [&str; 16] = [
    "had a planning call",
    "met for lunch",
    "reviewed the quarterly budget",
    "sketched the new onboarding flow",
    "went for a long walk",
    "argued about the release date",
    "fixed the leaking kitchen tap",
    "celebrated a birthday",
    "interviewed a candidate",
    "signed the lease renewal",
    "played a board game night",
    "prepared the conference talk",
    "visited the farmers market",
    "booked the summer holiday",
    "repaired a bicycle",
    "watched a documentary",
];
const PLACES: [&str; 16] = [
    "the Rye Bakery",
    "the office",
    "home",
    "the Blue Door cafe",
    "the library",
    "the riverside park",
    "the co-working space",
    "the train station",
    "the community hall",
    "the old harbour",
    "the botanical garden",
    "the ramen bar",
    "the climbing gym",
    "the town square",
    "the museum",
    "the pub on Elm Street",
];
const AIRLINES: [(&str, &str); 6] = [
    ("TAP", "TP"),
    ("Lufthansa", "LH"),
    ("KLM", "KL"),
    ("Iberia", "IB"),
    ("SAS", "SK"),
    ("Aer Lingus", "EI"),
];
const SHOPS: [&str; 8] = [
    "the supermarket",
    "the pharmacy",
    "the bookshop",
    "the hardware store",
    "the bakery",
    "a restaurant",
    "the petrol station",
    "the electronics shop",
];

/// What the generator knows a write is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Label {
    /// Information not written before: a first statement, a note, a tool
    /// result.
    New,
    /// A restatement (paraphrased, or the very same text) of something
    /// written before and still true.
    Repeat,
    /// A preference stated with a value it never had: the newest version
    /// of that preference.
    Changed,
}

/// What a write is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// A preference (may change).
    Preference,
    /// A fact about the user (fixed).
    Fact,
    /// A daily note.
    Note,
    /// A tool result.
    Tool,
}

impl Category {
    /// The tag its memories carry.
    pub fn tag(self) -> &'static str {
        match self {
            Category::Preference => "preference",
            Category::Fact => "profile",
            Category::Note => "note",
            Category::Tool => "tool",
        }
    }
}

/// Which preference of which user, and the value stated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slot {
    /// The user (index into the population).
    pub user: u32,
    /// Index into [`PREFERENCES`].
    pub preference: u8,
    /// Index into the preference's values.
    pub value: u8,
}

/// The ground truth of one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Truth {
    /// What it is about.
    pub category: Category,
    /// New, repeat or changed.
    pub label: Label,
    /// What it states: two writes state the same thing exactly when their
    /// facts are equal (a repeat has the fact of what it repeats; a changed
    /// value has a fact of its own).
    pub fact: u64,
    /// For a preference: which one, and its value.
    pub slot: Option<Slot>,
}

/// One generated write.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    /// The text.
    pub content: String,
    /// The event time (nanoseconds since the Unix epoch).
    pub at: Timestamp,
    /// Where it came from.
    pub source: String,
    /// Its kind (semantic for facts and preferences).
    pub kind: Kind,
    /// What it really is.
    pub truth: Truth,
}

impl Write {
    /// The memory to remember, and the truth kept apart.
    pub fn split(self) -> (NewMemory, Truth) {
        let memory = NewMemory::new(self.content)
            .kind(self.kind)
            .tag(self.truth.category.tag())
            .source(self.source)
            .at(self.at);
        (memory, self.truth)
    }
}

/// The size and seed of a simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// Writes in all.
    pub writes: usize,
    /// Users (one per [`WRITES_PER_USER`] writes, at least 1, at most
    /// [`MAX_USERS`]).
    pub users: usize,
    /// Seed of every random choice.
    pub seed: u64,
}

impl Spec {
    /// `writes` writes with the default seed.
    pub fn new(writes: usize) -> Self {
        Self {
            writes,
            users: (writes / WRITES_PER_USER).clamp(1, MAX_USERS),
            seed: SEED,
        }
    }
}

/// One preference of one user as the simulation goes.
#[derive(Debug, Clone, Default)]
struct PrefState {
    /// Values stated so far, oldest first, with their facts; the last is
    /// current.
    versions: Vec<(u8, u64)>,
    /// Times (ns since the start) of the changes still to come, ascending.
    changes: Vec<i64>,
}

/// One user's fixed profile and what has been said.
#[derive(Debug, Clone)]
struct User {
    name: String,
    slug: String,
    /// Parts `{a}`, `{b}` of each fact.
    facts: [(String, String); 10],
    /// The fact id of each fact once stated.
    stated: [Option<u64>; 10],
    prefs: Vec<PrefState>,
}

/// The simulation: an iterator over its writes, in time order.
#[derive(Debug)]
pub struct Sim {
    spec: Spec,
    rng: SplitMix64,
    users: Vec<User>,
    /// Facts of note and tool texts already written, by text hash.
    seen: HashMap<u64, u64>,
    next_fact: u64,
    next: usize,
    span_ns: i128,
}

impl Sim {
    /// The simulation of `spec`.
    pub fn new(spec: Spec) -> Self {
        let span_ns = i128::from(DAYS * DAY_NS);
        let mut setup = SplitMix64::new(mix64(spec.seed ^ 0x5e70));
        let users = (0..spec.users)
            .map(|i| user(i, &mut setup, span_ns as i64))
            .collect();
        Self {
            spec,
            rng: SplitMix64::new(mix64(spec.seed ^ 0x57ea)),
            users,
            seen: HashMap::new(),
            next_fact: 0,
            next: 0,
            span_ns,
        }
    }

    /// The spec.
    pub fn spec(&self) -> Spec {
        self.spec
    }

    /// User `i`'s full name.
    pub fn user_name(&self, i: u32) -> &str {
        self.users.get(i as usize).map_or("", |u| u.name.as_str())
    }

    /// The probe question about preference `p` of user `i`.
    pub fn question(&self, i: u32, p: u8) -> String {
        PREFERENCES[usize::from(p)]
            .question
            .replace("{n}", self.user_name(i))
    }

    fn fact_id(&mut self) -> u64 {
        self.next_fact += 1;
        self.next_fact
    }

    /// The write at `offset` ns into the year by user `u`.
    fn generate(&mut self, u: usize, offset: i64) -> Write {
        let at = Timestamp(START_SECS * 1_000_000_000 + offset);
        let day = offset / DAY_NS;
        let date = date_of(day);
        let roll = self.rng.index(100);
        let chat = format!("chat/{}/{date}", self.users[u].slug);
        if roll < 15 {
            let p = self.rng.index(PREFERENCES.len());
            let (label, value, fact) = self.preference_step(u, p, offset);
            let pref = &PREFERENCES[p];
            let form = pref.forms[self.rng.index(2)];
            let text = form
                .replace("{n}", &self.users[u].name)
                .replace("{v}", pref.values[usize::from(value)]);
            let content = paraphrase(&text, &mut self.rng);
            Write {
                content,
                at,
                source: chat,
                kind: Kind::Semantic,
                truth: Truth {
                    category: Category::Preference,
                    label,
                    fact,
                    slot: Some(Slot {
                        user: u as u32,
                        preference: p as u8,
                        value,
                    }),
                },
            }
        } else if roll < 30 {
            let f = self.rng.index(FACTS.len());
            let (label, fact) = match self.users[u].stated[f] {
                Some(fact) => (Label::Repeat, fact),
                None => {
                    let fact = self.fact_id();
                    self.users[u].stated[f] = Some(fact);
                    (Label::New, fact)
                }
            };
            let user = &self.users[u];
            let (a, b) = &user.facts[f];
            let text = FACTS[f][self.rng.index(2)]
                .replace("{n}", &user.name)
                .replace("{a}", a)
                .replace("{b}", b);
            let content = paraphrase(&text, &mut self.rng);
            Write {
                content,
                at,
                source: chat,
                kind: Kind::Semantic,
                truth: Truth {
                    category: Category::Fact,
                    label,
                    fact,
                    slot: None,
                },
            }
        } else if roll < 60 {
            let r = &mut self.rng;
            let content = format!(
                "{date}: {} {} with {} at {}.",
                self.users[u].name,
                EVENTS[r.index(EVENTS.len())],
                FIRST[r.index(FIRST.len())],
                PLACES[r.index(PLACES.len())]
            );
            self.episode(content, at, chat, Category::Note)
        } else {
            let (tool, content) = tool_result(&self.users[u], &date, &mut self.rng);
            self.episode(content, at, format!("tool/{tool}"), Category::Tool)
        }
    }

    /// Advances preference `p` of user `u` to `offset`: the label, value
    /// and fact of a statement of it now.
    fn preference_step(&mut self, u: usize, p: usize, offset: i64) -> (Label, u8, u64) {
        let values = PREFERENCES[p].values.len();
        let due = {
            let state = &self.users[u].prefs[p];
            state.changes.iter().take_while(|t| **t <= offset).count()
        };
        let state = &self.users[u].prefs[p];
        if let Some(&(value, fact)) = state.versions.last() {
            if due == 0 {
                return (Label::Repeat, value, fact);
            }
            // The changes that came due since the last statement count
            // as one: the value stated now is new.
            let used: Vec<u8> = state.versions.iter().map(|(v, _)| *v).collect();
            let fresh: Vec<u8> = (0..values as u8).filter(|v| !used.contains(v)).collect();
            // Never empty: a preference gets fewer changes than values.
            let Some(&value) = fresh.get(self.rng.index(fresh.len())) else {
                return (Label::Repeat, value, fact);
            };
            let fact = self.fact_id();
            let state = &mut self.users[u].prefs[p];
            state.changes.drain(..due);
            state.versions.push((value, fact));
            return (Label::Changed, value, fact);
        }
        // First statement: changes before it are not news.
        let value = self.rng.index(values) as u8;
        let fact = self.fact_id();
        let state = &mut self.users[u].prefs[p];
        state.changes.drain(..due);
        state.versions.push((value, fact));
        (Label::New, value, fact)
    }

    /// A note or tool result: new unless the same text was written before.
    fn episode(&mut self, content: String, at: Timestamp, source: String, c: Category) -> Write {
        let hash = xxhash_rust::xxh3::xxh3_64(content.as_bytes());
        let (label, fact) = match self.seen.get(&hash) {
            Some(&fact) => (Label::Repeat, fact),
            None => {
                let fact = self.fact_id();
                self.seen.insert(hash, fact);
                (Label::New, fact)
            }
        };
        Write {
            content,
            at,
            source,
            kind: Kind::Episodic,
            truth: Truth {
                category: c,
                label,
                fact,
                slot: None,
            },
        }
    }
}

impl Iterator for Sim {
    type Item = Write;

    fn next(&mut self) -> Option<Write> {
        if self.next >= self.spec.writes {
            return None;
        }
        let n = self.spec.writes as i128;
        let i = self.next as i128;
        let step = (self.span_ns / n).max(1) as u64;
        // A random instant of the i-th of n equal steps: times increase.
        let offset = (self.span_ns * i / n) as i64 + self.rng.below(step) as i64;
        self.next += 1;
        let u = self.rng.index(self.spec.users);
        Some(self.generate(u, offset))
    }
}

/// User `i`: a distinct name, a profile and each preference's change
/// times.
fn user(i: usize, rng: &mut SplitMix64, span_ns: i64) -> User {
    // (i mod 50, (i div 50 + i) mod 50) is distinct for i < 2,500.
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i / FIRST.len() + i) % LAST.len()];
    let name = format!("{first} {last}");
    let slug = name.to_lowercase().replace(' ', "-");
    // Born between 1950 and 2005.
    let born = -7_305 + rng.index(20_089) as i64;
    let birthday = date_of_days(born);
    let mut pick = |pool: &[&str]| pool[rng.index(pool.len())].to_owned();
    let spoken = pick(&LANGUAGES);
    let mut other = pick(&LANGUAGES);
    if other == spoken {
        other = "Italian".to_owned();
    }
    let facts = [
        (pick(&CITIES), String::new()),
        (pick(&COMPANIES), pick(&ROLES)),
        (format!("{} {}", pick(&FIRST), pick(&LAST)), String::new()),
        (pick(&PET_NAMES), pick(&PETS)),
        (birthday, String::new()),
        (pick(&ALLERGENS), String::new()),
        (pick(&CARS), String::new()),
        (pick(&LAST), String::new()),
        (spoken, other),
        (pick(&GYMS), pick(&WEEKDAYS)),
    ];
    let prefs = PREFERENCES
        .iter()
        .map(|p| {
            let roll = rng.index(100);
            let count = match roll {
                0..45 => 0,
                45..80 => 1,
                80..95 => 2,
                _ => 3,
            }
            .min(p.values.len() - 1);
            let mut changes: Vec<i64> = (0..count)
                .map(|_| rng.below(span_ns as u64) as i64)
                .collect();
            changes.sort_unstable();
            PrefState {
                versions: Vec::new(),
                changes,
            }
        })
        .collect();
    User {
        name,
        slug,
        facts,
        stated: [None; 10],
        prefs,
    }
}

/// A small paraphrase of `text`: a filler (4 in 10), an end and, one
/// time in five, a lower-case first letter.
fn paraphrase(text: &str, rng: &mut SplitMix64) -> String {
    let mut out = match rng.index(10) {
        6 => format!("Actually, {text}"),
        7 => format!("By the way, {text}"),
        8 => format!("Just so you know, {text}"),
        9 => format!("{text} as usual"),
        _ => text.to_owned(),
    };
    out.push_str([".", ".", "!", ""][rng.index(4)]);
    if rng.index(5) == 0
        && let Some(first) = out.chars().next()
    {
        let lower: String = first.to_lowercase().collect();
        out.replace_range(..first.len_utf8(), &lower);
    }
    out
}

/// A tool result of `user` on `date`: the tool's name and the text.
fn tool_result(user: &User, date: &str, rng: &mut SplitMix64) -> (&'static str, String) {
    let time = format!("{:02}:{:02}", 6 + rng.index(16), rng.index(60));
    match rng.index(5) {
        0 => (
            "weather",
            format!(
                "weather tool: {} on {date} at {time}, {} °C, humidity {}%, wind {} km/h",
                user.facts[0].0,
                rng.index(35) as i64 - 5,
                20 + rng.index(80),
                rng.index(60)
            ),
        ),
        1 => (
            "calendar",
            format!(
                "calendar tool: {} has {} meetings on {date}, the first at {time}",
                user.name,
                1 + rng.index(9)
            ),
        ),
        2 => {
            let (airline, code) = AIRLINES[rng.index(AIRLINES.len())];
            (
                "flights",
                format!(
                    "flight tool: {airline} flight {code}{} from {} to {} on {date} departs {time}, fare {} EUR",
                    100 + rng.index(9_000),
                    user.facts[0].0,
                    CITIES[rng.index(CITIES.len())],
                    40 + rng.index(600)
                ),
            )
        }
        3 => (
            "fitness",
            format!(
                "fitness tool: {} walked {} steps on {date}, resting heart rate {}",
                user.name,
                1_000 + rng.index(19_000),
                48 + rng.index(40)
            ),
        ),
        _ => (
            "expenses",
            format!(
                "expense tool: {} spent {}.{:02} EUR at {} on {date} at {time}",
                user.name,
                2 + rng.index(300),
                rng.index(100),
                SHOPS[rng.index(SHOPS.len())]
            ),
        ),
    }
}

/// `YYYY-MM-DD` of day `day` (0-based) of the simulated year.
fn date_of(day: i64) -> String {
    date_of_days(START_SECS / 86_400 + day)
}

/// `YYYY-MM-DD` of `days` since 1970-01-01.
fn date_of_days(days: i64) -> String {
    let (y, m, d) = mnemo::calendar::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    fn quick() -> Vec<Write> {
        Sim::new(Spec::new(QUICK_WRITES)).collect()
    }

    #[test]
    fn the_stream_is_a_function_of_its_seed() {
        let a = quick();
        assert_eq!(a.len(), QUICK_WRITES);
        assert_eq!(a, quick(), "same spec, same stream");
        let other = Sim::new(Spec {
            seed: SEED + 1,
            ..Spec::new(QUICK_WRITES)
        });
        let b: Vec<Write> = other.take(100).collect();
        assert_ne!(&a[..100], &b[..], "another seed, another stream");
        assert_eq!(Spec::new(FULL_WRITES).users, FULL_WRITES / WRITES_PER_USER);
    }

    #[test]
    fn times_increase_within_the_year() {
        let writes = quick();
        let start = START_SECS * 1_000_000_000;
        assert!(writes[0].at.0 >= start);
        assert!(writes.windows(2).all(|w| w[0].at <= w[1].at));
        let last = writes.last().map_or(0, |w| w.at.0);
        assert!(last < start + DAYS * DAY_NS && last > start + (DAYS - 1) * DAY_NS);
        assert_eq!(date_of(0), "2024-01-01");
        assert_eq!(date_of(59), "2024-02-29");
        assert_eq!(date_of(364), "2024-12-30");
        assert_eq!(date_of(365), "2024-12-31");
    }

    #[test]
    fn user_names_are_distinct() {
        let mut rng = SplitMix64::new(1);
        let names: HashSet<String> = (0..MAX_USERS)
            .map(|i| user(i, &mut rng, DAY_NS).name)
            .collect();
        assert_eq!(names.len(), MAX_USERS);
    }

    /// Replays the stream against the labels: a new write states a fact
    /// never stated, a repeat one stated before (for a preference, its
    /// current value), a changed preference a value it never had; the
    /// same text always states the same fact.
    #[test]
    fn labels_say_what_each_write_is() {
        let sim = Sim::new(Spec::new(QUICK_WRITES));
        let names: Vec<String> = (0..sim.spec().users as u32)
            .map(|u| sim.user_name(u).to_owned())
            .collect();
        let mut stated: HashSet<u64> = HashSet::new();
        let mut by_text: HashMap<String, u64> = HashMap::new();
        let mut values: HashMap<(u32, u8), Vec<(u8, u64)>> = HashMap::new();
        let mut counts: HashMap<(Category, Label), usize> = HashMap::new();
        for w in sim {
            let t = w.truth;
            *counts.entry((t.category, t.label)).or_default() += 1;
            if let Some(&fact) = by_text.get(&w.content) {
                assert_eq!(fact, t.fact, "one text, one fact: {}", w.content);
            }
            by_text.insert(w.content.clone(), t.fact);
            match t.label {
                Label::New | Label::Changed => {
                    assert!(stated.insert(t.fact), "new fact stated before: {w:?}")
                }
                Label::Repeat => assert!(stated.contains(&t.fact), "repeat of nothing: {w:?}"),
            }
            if let Some(slot) = t.slot {
                assert_eq!(t.category, Category::Preference);
                let pref = &PREFERENCES[usize::from(slot.preference)];
                let value = pref.values[usize::from(slot.value)].to_lowercase();
                let text = w.content.to_lowercase();
                assert!(text.contains(&value), "{text} lacks {value}");
                let name = &names[slot.user as usize];
                assert!(text.contains(&name.to_lowercase()), "{text} lacks {name}");
                let history = values.entry((slot.user, slot.preference)).or_default();
                match t.label {
                    Label::New => assert!(history.is_empty(), "{w:?}"),
                    Label::Repeat => {
                        assert_eq!(history.last(), Some(&(slot.value, t.fact)), "{w:?}")
                    }
                    Label::Changed => {
                        assert!(!history.is_empty(), "{w:?}");
                        assert!(history.iter().all(|(v, _)| *v != slot.value), "{w:?}");
                    }
                }
                if t.label != Label::Repeat {
                    history.push((slot.value, t.fact));
                }
            } else {
                assert_ne!(t.label, Label::Changed, "only preferences change");
            }
        }
        // Every kind of write occurs, and repeats and changes are common.
        for c in [Category::Preference, Category::Fact] {
            for l in [Label::New, Label::Repeat] {
                assert!(counts.get(&(c, l)).is_some_and(|n| *n > 50), "{c:?} {l:?}");
            }
        }
        assert!(counts[&(Category::Preference, Label::Changed)] > 50);
        assert!(counts[&(Category::Note, Label::New)] > 1_000);
        assert!(counts[&(Category::Tool, Label::New)] > 1_000);
        let changed = values.values().filter(|h| h.len() > 1).count();
        assert!(changed > 50, "{changed} preferences changed");
    }
}
