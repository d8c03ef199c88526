//! Keyword matching speed with many rules: `make bench-rules`.
//! Prints the time to compile the matcher and the time per matched message.

use std::time::Instant;
use wati_shared::domain::auto_reply::{MatchType, Matcher, RuleKey};

fn main() {
    let kinds = [MatchType::Contains, MatchType::StartsWith, MatchType::Exact];
    // Rule i is keyword{i}, of kind i % 3: contains, starts_with, exact.
    let messages = [
        "Hi, what is the price of keyword9 for my shop in Lahore?", // contains
        "keyword4 do you ship by Friday?",                          // starts_with
        "nothing in here matches any rule, just a long-ish customer message to scan",
        "ＫＥＹＷＯＲＤ5", // exact, after NFKC and lower case
    ];
    println!(
        "{:>8} {:>12} {:>14} {:>14}",
        "rules", "build (ms)", "match (µs)", "matches/s"
    );
    for n in [10usize, 100, 1_000, 5_000, 20_000] {
        let rules: Vec<RuleKey> = (0..n)
            .map(|i| RuleKey {
                id: format!("r{i}"),
                keyword: format!("keyword{i}"),
                match_type: kinds[i % 3],
                created_at: chrono::DateTime::from_timestamp(i as i64, 0).unwrap_or_default(),
            })
            .collect();
        let started = Instant::now();
        let matcher = Matcher::new(rules);
        let build_ms = started.elapsed().as_secs_f64() * 1e3;
        let rounds = 20_000;
        let started = Instant::now();
        let mut hits = 0usize;
        for i in 0..rounds {
            if matcher.find(messages[i % messages.len()]).is_some() {
                hits += 1;
            }
        }
        let per = started.elapsed().as_secs_f64() / rounds as f64;
        println!(
            "{n:>8} {build_ms:>12.2} {:>14.2} {:>14.0}   ({hits} of {rounds} matched)",
            per * 1e6,
            1.0 / per
        );
    }
}
