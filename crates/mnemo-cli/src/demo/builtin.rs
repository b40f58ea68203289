//! The demo's built-in data, for machines without the LoCoMo split: forty
//! things four fictional people said or did, and five questions about them.

use mnemo::{Kind, NewMemory};

use crate::time;

/// One built-in memory: who, when (RFC 3339), kind, topic tags, text.
struct Fact {
    who: &'static str,
    when: &'static str,
    kind: Kind,
    topics: &'static [&'static str],
    text: &'static str,
}

const fn fact(
    who: &'static str,
    when: &'static str,
    kind: Kind,
    topics: &'static [&'static str],
    text: &'static str,
) -> Fact {
    Fact {
        who,
        when,
        kind,
        topics,
        text,
    }
}

use Kind::{Episodic as E, Procedural as P, Semantic as S};

#[rustfmt::skip]
const FACTS: [Fact; 40] = [
    fact("Alice", "2024-01-08T09:15:00Z", S, &["work"], "Alice Moreau works as a marine biologist at the Lisbon Oceanarium."),
    fact("Alice", "2024-01-08T09:20:00Z", E, &["home"], "Alice moved from Lyon to Lisbon in March 2021 to be closer to the sea."),
    fact("Alice", "2024-02-02T18:00:00Z", S, &["preferences"], "Alice says her favourite animal is the octopus because it can solve puzzles."),
    fact("Alice", "2024-03-14T11:30:00Z", E, &["travel"], "Alice went scuba diving off the Azores and saw a manta ray for the first time."),
    fact("Alice", "2024-04-02T19:00:00Z", E, &["language"], "Alice is learning Portuguese and practises with her neighbour every Tuesday."),
    fact("Alice", "2024-04-20T08:00:00Z", S, &["food"], "Alice prefers green tea in the morning and never drinks coffee after noon."),
    fact("Alice", "2024-05-17T15:45:00Z", E, &["work", "travel"], "Alice presented her research on coral bleaching at a conference in Kyoto."),
    fact("Alice", "2024-06-01T12:00:00Z", E, &["family"], "Alice's sister Claire is getting married in Provence in September."),
    fact("Alice", "2024-07-09T17:30:00Z", E, &["boats"], "Alice bought a second-hand sailing boat and named it Calypso."),
    fact("Alice", "2024-07-10T21:00:00Z", P, &["diving"], "To prepare a dive, Alice checks the tide tables, the weather forecast and her regulator the night before."),
    fact("Bruno", "2024-01-12T22:10:00Z", S, &["work"], "Bruno Okafor runs a small West African restaurant called Jollof House in Manchester."),
    fact("Bruno", "2024-01-30T13:00:00Z", S, &["health", "food"], "Bruno is allergic to peanuts, which is why his kitchen cooks with sunflower oil."),
    fact("Bruno", "2024-02-18T10:00:00Z", E, &["pets"], "Bruno adopted a rescue greyhound named Pepper from a shelter in Salford."),
    fact("Bruno", "2024-03-03T20:30:00Z", S, &["food"], "Bruno's signature dish is smoked jollof rice with grilled plantain."),
    fact("Bruno", "2024-04-14T14:20:00Z", E, &["sport"], "Bruno ran the Manchester marathon in three hours and fifty minutes."),
    fact("Bruno", "2024-05-05T16:00:00Z", E, &["family", "food"], "Bruno learned to cook from his grandmother in Lagos when he was twelve."),
    fact("Bruno", "2024-06-11T09:00:00Z", S, &["plans", "work"], "Bruno wants to open a second restaurant in Leeds next year."),
    fact("Bruno", "2024-06-25T18:40:00Z", E, &["work"], "Bruno's restaurant received a glowing review in a national newspaper."),
    fact("Bruno", "2024-08-01T07:30:00Z", P, &["food"], "To make stock, Bruno roasts the bones first, then simmers them for six hours without letting them boil."),
    fact("Bruno", "2024-08-24T15:00:00Z", S, &["sport"], "Bruno supports Manchester United and watches every home game with his brother."),
    fact("Chen", "2024-01-15T08:45:00Z", S, &["work"], "Chen Wei is a software engineer who builds payment systems for a bank in Toronto."),
    fact("Chen", "2024-01-21T19:30:00Z", S, &["music"], "Chen started playing the violin at the age of six and still plays in a community orchestra."),
    fact("Chen", "2024-02-27T20:00:00Z", E, &["music"], "Chen's orchestra will perform Dvořák's New World Symphony in November."),
    fact("Chen", "2024-03-09T12:30:00Z", S, &["food"], "Chen is vegetarian and loves mushroom dumplings."),
    fact("Chen", "2024-04-06T16:10:00Z", E, &["health"], "Chen broke his wrist skateboarding and could not practise for two months."),
    fact("Chen", "2024-05-12T10:00:00Z", E, &["family"], "Chen's daughter Mei took her first steps on Sunday."),
    fact("Chen", "2024-06-03T08:15:00Z", E, &["books"], "Chen is reading a biography of Alan Turing on the train to work."),
    fact("Chen", "2024-06-19T17:00:00Z", P, &["work"], "To debug a flaky test, Chen reruns it with a fixed random seed and logs every retry."),
    fact("Chen", "2024-07-22T21:30:00Z", S, &["plans", "travel"], "Chen and his wife are planning a trip to Iceland to see the northern lights."),
    fact("Chen", "2024-09-02T11:00:00Z", E, &["work"], "Chen's team switched from Java to Rust for the new ledger service."),
    fact("Dana", "2024-01-05T23:00:00Z", S, &["work"], "Dana Petrov is an emergency doctor at a hospital in Denver."),
    fact("Dana", "2024-01-19T10:30:00Z", E, &["sport"], "Dana climbed Mount Rainier last summer with two friends from medical school."),
    fact("Dana", "2024-02-10T09:00:00Z", S, &["hobbies"], "Dana keeps bees in her backyard and sells the honey at the farmers market."),
    fact("Dana", "2024-03-21T18:00:00Z", S, &["preferences"], "Dana is afraid of deep water even though she loves mountains."),
    fact("Dana", "2024-04-11T07:00:00Z", S, &["work"], "Dana works night shifts every other week and sleeps with an eye mask."),
    fact("Dana", "2024-05-29T08:20:00Z", E, &["pets"], "Dana's cat Miso knocked a full cup of coffee onto her laptop."),
    fact("Dana", "2024-06-30T19:45:00Z", S, &["plans", "sport"], "Dana is training to climb Aconcagua in Argentina next January."),
    fact("Dana", "2024-07-14T06:30:00Z", P, &["sport"], "Before a high climb, Dana spends three nights at altitude to acclimatise."),
    fact("Dana", "2024-08-08T13:15:00Z", E, &["friends", "travel"], "Dana met Alice at a conference on wilderness medicine in Lisbon."),
    fact("Dana", "2024-09-15T12:00:00Z", S, &["family"], "Dana and Bruno are cousins and spend every Christmas together in Manchester."),
];

/// A question about the built-in data and the facts (indices into the
/// memories, from 0) that answer it.
pub struct Question {
    /// The question.
    pub text: &'static str,
    /// The answer in a few words.
    pub answer: &'static str,
    /// Which memories answer it (positions in [`memories`]).
    pub evidence: &'static [usize],
}

/// The five demo questions.
pub const QUESTIONS: [Question; 5] = [
    Question {
        text: "Where does Alice work?",
        answer: "the Lisbon Oceanarium",
        evidence: &[0],
    },
    Question {
        text: "What is Bruno allergic to?",
        answer: "peanuts",
        evidence: &[11],
    },
    Question {
        text: "Which mountain did Dana climb last summer?",
        answer: "Mount Rainier",
        evidence: &[31],
    },
    Question {
        text: "What kind of dog did Bruno adopt?",
        answer: "a rescue greyhound named Pepper",
        evidence: &[12],
    },
    Question {
        text: "How old was Chen when he started playing the violin?",
        answer: "six",
        evidence: &[21],
    },
];

/// The built-in memories: source and tag the person, topic tags, the
/// fact's time and kind.
pub fn memories() -> Vec<NewMemory> {
    FACTS
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut m = NewMemory::new(f.text)
                .source(f.who)
                .tag(f.who.to_lowercase())
                .tags(f.topics.iter().copied())
                .kind(f.kind)
                .key(format!("builtin-{i}"));
            m.at = time::parse(f.when).ok();
            m
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fact_has_a_valid_time_and_questions_point_at_facts() {
        for f in &FACTS {
            assert!(time::parse(f.when).is_ok(), "{}", f.when);
        }
        for q in &QUESTIONS {
            assert!(q.evidence.iter().all(|&i| i < FACTS.len()));
        }
        assert_eq!(memories().len(), 40);
    }
}
