//! Consent: the words that opt a customer out of (and back into) a tenant's messages, the
//! tenant's opt-out settings, and where an opt-out came from. See `docs/consent.md`.
//!
//! A customer message opts out when its text, normalised as keyword rules normalise it
//! (NFKC, lower case, white space folded; see `auto_reply::normalize`) and with surrounding
//! punctuation dropped (`Stop!` is `stop`), equals one of the tenant's opt-out words. The
//! decision comes before keyword rules and AI Smart Reply: a STOP is never answered by them.

use super::auto_reply;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The opt-out words a tenant starts with: the usual English ones, then their common
/// equivalents in the languages the spec lists (Urdu, Hindi, Arabic, Spanish, French,
/// Portuguese, Bengali, Indonesian, Turkish, Russian, German, Italian, Dutch). Matching is
/// on the whole message, case-insensitive, so a word here never fires inside a sentence.
pub const DEFAULT_OPT_OUT_WORDS: &[&str] = &[
    // English (the carriers' usual set)
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "OPT OUT",
    "OPT-OUT",
    // Urdu and Hindi (script and the usual Roman spelling)
    "بند",
    "بند کرو",
    "بند کریں",
    "बंद",
    "बंद करो",
    "बंद करें",
    "band karo",
    "band karein",
    // Arabic
    "توقف",
    "ايقاف",
    "إيقاف",
    "الغاء",
    "إلغاء",
    "إلغاء الاشتراك",
    "الغاء الاشتراك",
    // Spanish
    "BAJA",
    "PARAR",
    "DETENER",
    "CANCELAR",
    // French
    "ARRET",
    "ARRÊT",
    "DESABONNER",
    "DÉSABONNER",
    "DESINSCRIRE",
    "DÉSINSCRIRE",
    // Portuguese
    "SAIR",
    "DESCADASTRAR",
    // Bengali
    "বন্ধ",
    "বন্ধ করুন",
    // Indonesian
    "BERHENTI",
    // Turkish
    "DUR",
    "IPTAL",
    "İPTAL",
    // Russian
    "СТОП",
    "ОТПИСАТЬСЯ",
    // German
    "STOPP",
    "ABMELDEN",
    "ABBESTELLEN",
    // Italian
    "BASTA",
    "DISISCRIVITI",
    // Dutch
    "STOPPEN",
    "AFMELDEN",
    "UITSCHRIJVEN",
];

/// The words that opt a customer back in.
pub const DEFAULT_OPT_IN_WORDS: &[&str] = &[
    "START",
    "SUBSCRIBE",
    "UNSTOP",
    // Spanish, Portuguese
    "ALTA",
    "INICIAR",
    // French
    "ABONNER",
    // Indonesian
    "MULAI",
    // Turkish
    "BASLA",
    "BAŞLA",
    // Russian
    "СТАРТ",
    "ПОДПИСАТЬСЯ",
    // German
    "ANMELDEN",
    // Italian
    "ISCRIVITI",
    // Dutch
    "AANMELDEN",
    // Arabic
    "اشتراك",
    // Urdu, Hindi
    "شروع",
    "शुरू",
];

pub const DEFAULT_CONFIRMATION: &str =
    "You will no longer receive messages from us. Reply START to subscribe again.";
pub const DEFAULT_OPT_IN_CONFIRMATION: &str =
    "You are subscribed again. Reply STOP to stop receiving messages from us.";

/// Words per list.
pub const MAX_WORDS: usize = 200;
pub const MAX_WORD_CHARS: usize = 50;
/// A WhatsApp text's longest body.
pub const MAX_CONFIRMATION_CHARS: usize = 4096;

/// A tenant's opt-out settings (`GET|PUT /api/settings/opt-out`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct OptOutSettings {
    /// A customer message equal to one of these (any case, surrounding spaces and
    /// punctuation ignored) opts the customer out.
    #[schema(example = json!(["STOP", "UNSUBSCRIBE"]))]
    pub opt_out_words: Vec<String>,
    /// …and one of these opts an opted-out customer back in.
    #[schema(example = json!(["START"]))]
    pub opt_in_words: Vec<String>,
    /// Sent once to a customer who just opted out (`""`: nothing is sent).
    #[schema(
        example = "You will no longer receive messages from us. Reply START to subscribe again."
    )]
    pub confirmation: String,
    /// Sent once to a customer who just opted back in (`""`: nothing is sent).
    pub opt_in_confirmation: String,
    /// `true` (default): `/send`, `/send-media` and inbox replies to an opted-out number are
    /// refused (422). `false`: they go out. Campaigns, keyword rules and AI Smart Reply never
    /// send to an opted-out number, whatever this says.
    pub block_direct_sends: bool,
}

impl Default for OptOutSettings {
    fn default() -> Self {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect();
        OptOutSettings {
            opt_out_words: words(DEFAULT_OPT_OUT_WORDS),
            opt_in_words: words(DEFAULT_OPT_IN_WORDS),
            confirmation: DEFAULT_CONFIRMATION.into(),
            opt_in_confirmation: DEFAULT_OPT_IN_CONFIRMATION.into(),
            block_direct_sends: true,
        }
    }
}

/// What a customer message says about consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentWord {
    OptOut,
    OptIn,
}

/// The form words and messages are compared in: keyword normalisation, then ASCII and
/// common Unicode punctuation around the text dropped.
pub fn fold(text: &str) -> String {
    let n = auto_reply::normalize(text);
    let trimmed = n.trim_matches(|c: char| {
        c.is_ascii_punctuation()
            || matches!(c, '¡' | '¿' | '。' | '،' | '؟' | '।' | '…' | '“' | '”')
    });
    // Punctuation inside ("opt-out") stays; spaces left at the edges go.
    trimmed.trim().to_string()
}

impl OptOutSettings {
    /// Whether a customer message is an opt-out or opt-in word.
    pub fn classify(&self, text: &str) -> Option<ConsentWord> {
        let folded = fold(text);
        if folded.is_empty() || folded.chars().count() > MAX_WORD_CHARS {
            return None;
        }
        let has = |words: &[String]| words.iter().any(|w| fold(w) == folded);
        if has(&self.opt_out_words) {
            Some(ConsentWord::OptOut)
        } else if has(&self.opt_in_words) {
            Some(ConsentWord::OptIn)
        } else {
            None
        }
    }

    /// Checks settings a tenant sent; the error names the field.
    pub fn validate(self) -> Result<OptOutSettings, String> {
        let opt_out_words = words("optOutWords", &self.opt_out_words)?;
        let opt_in_words = words("optInWords", &self.opt_in_words)?;
        if opt_out_words.is_empty() {
            return Err("\"optOutWords\" must hold at least one word".into());
        }
        for (i, w) in opt_in_words.iter().enumerate() {
            if opt_out_words.iter().any(|o| fold(o) == fold(w)) {
                return Err(format!(
                    "\"optInWords[{i}]\" ({w}) is also an opt-out word: a word can only do one of the two"
                ));
            }
        }
        let text = |field: &str, v: &str| {
            let v = v.trim();
            if v.chars().count() > MAX_CONFIRMATION_CHARS {
                return Err(format!(
                    "\"{field}\" must be at most {MAX_CONFIRMATION_CHARS} characters"
                ));
            }
            Ok(v.to_string())
        };
        Ok(OptOutSettings {
            opt_out_words,
            opt_in_words,
            confirmation: text("confirmation", &self.confirmation)?,
            opt_in_confirmation: text("optInConfirmation", &self.opt_in_confirmation)?,
            block_direct_sends: self.block_direct_sends,
        })
    }
}

/// A list of words: each trimmed, 1–50 characters once folded, no duplicates (by folded
/// form; the first spelling is kept).
fn words(field: &str, raw: &[String]) -> Result<Vec<String>, String> {
    if raw.len() > MAX_WORDS {
        return Err(format!("\"{field}\" must hold at most {MAX_WORDS} words"));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, w) in raw.iter().enumerate() {
        let folded = fold(w);
        if folded.is_empty() || folded.chars().count() > MAX_WORD_CHARS {
            return Err(format!(
                "\"{field}[{i}]\" must be 1-{MAX_WORD_CHARS} characters besides spaces and punctuation"
            ));
        }
        if !out.iter().any(|o| fold(o) == folded) {
            out.push(w.trim().to_string());
        }
    }
    Ok(out)
}

/// Where a consent change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConsentSource {
    /// The customer wrote an opt-out (or opt-in) word.
    Message,
    /// `POST /api/contacts/{id}/opt-out|opt-in`, or `"optedOut": true` in `POST /api/contacts`.
    Api,
    /// An `optedOut` column of a CSV import.
    Import,
}

impl ConsentSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentSource::Message => "message",
            ConsentSource::Api => "api",
            ConsentSource::Import => "import",
        }
    }
}

/// The message a refused direct send answers (422), naming the number.
pub fn opted_out_message(phone: &str) -> String {
    format!(
        "{phone} has opted out of messages from this business (replied STOP or was opted out): nothing was sent. They opt back in by replying START, or POST /api/contacts/{{id}}/opt-in"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_in_any_case_with_spaces_and_punctuation_opts_out() {
        let s = OptOutSettings::default();
        for text in [
            "stop",
            "  STOP ",
            "Stop!",
            "stop.",
            "Opt   out",
            "opt-out",
            "UNSUBSCRIBE",
            "ｓｔｏｐ",
            "بند کریں",
            "Baja",
            "Arrêt",
            "СТОП",
            "iptal",
            "İPTAL",
        ] {
            assert_eq!(s.classify(text), Some(ConsentWord::OptOut), "{text:?}");
        }
        for text in ["start", " START ", "Unstop", "subscribe"] {
            assert_eq!(s.classify(text), Some(ConsentWord::OptIn), "{text:?}");
        }
        for text in [
            "please stop",
            "stop it",
            "",
            "   ",
            "!!!",
            "stopp please",
            "what is the price?",
        ] {
            assert_eq!(s.classify(text), None, "{text:?}");
        }
    }

    #[test]
    fn the_default_lists_are_valid_and_disjoint() {
        let s = OptOutSettings::default();
        assert_eq!(
            s.clone().validate().map(|v| v.opt_out_words.len() > 50),
            Ok(true)
        );
        for w in &s.opt_in_words {
            assert_ne!(s.classify(w), Some(ConsentWord::OptOut), "{w}");
        }
    }

    #[test]
    fn settings_are_checked() {
        let base = OptOutSettings::default();
        let with = |out: &[&str], inw: &[&str]| OptOutSettings {
            opt_out_words: out.iter().map(|s| s.to_string()).collect(),
            opt_in_words: inw.iter().map(|s| s.to_string()).collect(),
            ..base.clone()
        };
        assert_eq!(
            with(&[], &["start"]).validate(),
            Err("\"optOutWords\" must hold at least one word".into())
        );
        assert_eq!(
            with(&["stop", " "], &[]).validate(),
            Err("\"optOutWords[1]\" must be 1-50 characters besides spaces and punctuation".into())
        );
        assert!(with(&["stop"], &["STOP!"])
            .validate()
            .is_err_and(|e| e.starts_with("\"optInWords[0]\"")));
        let ok = with(&[" Halt ", "halt", "STOP"], &["go"]).validate();
        assert_eq!(
            ok.map(|s| s.opt_out_words),
            Ok(vec!["Halt".into(), "STOP".into()])
        );
    }
}
