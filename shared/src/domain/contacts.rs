//! Rules for contacts, tags and contact lists: what a valid name, tag and search term are,
//! how the entries of a bulk upsert are merged (by phone, within the request and with the
//! stored contact), and how a tag change applies. Every error is the exact message a client
//! sees, naming the field.

use super::consent::ConsentSource;
use super::phone;
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};
use utoipa::ToSchema;

/// Contacts in one `POST /api/contacts`.
pub const MAX_CONTACTS_PER_REQUEST: usize = 1000;
/// Ids (or phones) in one delete, add-members or remove-members request.
pub const MAX_IDS_PER_REQUEST: usize = 1000;
/// Tags one contact may carry. Each tag is an item rewritten with the contact, so this
/// bounds every contact write (see `docs/data-model.md`).
pub const MAX_TAGS_PER_CONTACT: usize = 20;
/// Contact lists one contact may belong to (same reason).
pub const MAX_LISTS_PER_CONTACT: usize = 25;
pub const MAX_TAG_CHARS: usize = 50;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_LIST_NAME_CHARS: usize = 100;

/// One entry of `POST /api/contacts`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// Optional. On an existing contact a non-empty name replaces the stored one; an
    /// absent or empty name keeps it.
    #[schema(example = "Ali")]
    pub name: Option<String>,
    /// E.164 (`+923001234567`) or local digits; stored as digits only.
    #[schema(example = "+923001234567")]
    pub phone: String,
    /// Added to the contact's tags (merged, never replacing them).
    #[serde(default)]
    #[schema(example = json!(["lead", "jan26"]))]
    pub tags: Vec<String>,
    /// `true` marks the contact opted out (source `api`, or `import` for a CSV row).
    /// `false` or absent changes nothing: only the customer's START or
    /// `POST /api/contacts/{id}/opt-in` opts a contact back in.
    #[serde(default, rename = "optedOut")]
    pub opted_out: Option<bool>,
}

/// A contact name: trimmed, at most 200 characters, no control characters. Empty means
/// "no name".
pub fn name(field: &str, raw: &str) -> Result<String, String> {
    let v = raw.trim();
    if v.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "\"{field}\" must be at most {MAX_NAME_CHARS} characters"
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(format!("\"{field}\" must not contain control characters"));
    }
    Ok(v.to_string())
}

/// The form of a name the name index sorts and searches by: lower case, single spaces.
pub fn fold_name(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A tag: trimmed and lower-cased (`VIP` and `vip` are one tag), 1–50 letters, digits,
/// spaces or `- _ . : /`.
pub fn tag(field: &str, raw: &str) -> Result<String, String> {
    let v = raw.trim().to_lowercase();
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | ':' | '/');
    if v.is_empty() || v.chars().count() > MAX_TAG_CHARS || !v.chars().all(allowed) {
        return Err(format!(
            "\"{field}\" must be 1-{MAX_TAG_CHARS} letters, digits, spaces or - _ . : /"
        ));
    }
    Ok(v)
}

/// Normalised, de-duplicated, sorted tags; `field` names the array (`tags`, `contacts[3].tags`).
pub fn tags(field: &str, raw: &[String]) -> Result<Vec<String>, String> {
    let mut out = BTreeSet::new();
    for (i, t) in raw.iter().enumerate() {
        out.insert(tag(&format!("{field}[{i}]"), t)?);
    }
    if out.len() > MAX_TAGS_PER_CONTACT {
        return Err(too_many_tags(field));
    }
    Ok(out.into_iter().collect())
}

fn too_many_tags(field: &str) -> String {
    format!("\"{field}\": a contact can have at most {MAX_TAGS_PER_CONTACT} tags")
}

/// A contact list's name: trimmed, 1–100 characters.
pub fn list_name(raw: &str) -> Result<String, String> {
    super::validate::name("name", raw, MAX_LIST_NAME_CHARS)
}

/// What `?search=` looks for: a phone prefix (the term looks like a number) or a name prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    PhonePrefix(String),
    NamePrefix(String),
}

impl Search {
    pub fn parse(raw: &str) -> Result<Search, String> {
        if raw.trim().is_empty() {
            return Err("\"search\" must not be empty".into());
        }
        if let Some(digits) = phone::search_prefix(raw) {
            return Ok(Search::PhonePrefix(digits));
        }
        let folded = fold_name(&name("search", raw)?);
        Ok(Search::NamePrefix(folded))
    }
}

/// A valid entry of a bulk upsert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidEntry {
    pub phone: String,
    /// `None`: not given (or empty), keep what is stored.
    pub name: Option<String>,
    pub tags: Vec<String>,
    /// The entry opts the contact out.
    pub opt_out: bool,
}

/// Checks one entry; errors name the field as `contacts[<index>].<field>`.
pub fn entry(
    index: usize,
    input: &ContactInput,
    country: Option<phone::Country>,
) -> Result<ValidEntry, String> {
    let phone = phone::normalize_in(&format!("contacts[{index}].phone"), &input.phone, country)?;
    let name = match &input.name {
        Some(n) => Some(name(&format!("contacts[{index}].name"), n)?).filter(|n| !n.is_empty()),
        None => None,
    };
    let tags = tags(&format!("contacts[{index}].tags"), &input.tags)?;
    Ok(ValidEntry {
        phone,
        name,
        tags,
        opt_out: input.opted_out == Some(true),
    })
}

/// A change of a contact's consent, as the store applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentChange {
    pub opted_out: bool,
    pub source: ConsentSource,
    /// What made the change (the customer's message id), kept on the contact so a retried
    /// job knows the change was its own.
    pub reference: Option<String>,
}

impl ConsentChange {
    pub fn new(opted_out: bool, source: ConsentSource) -> Self {
        ConsentChange {
            opted_out,
            source,
            reference: None,
        }
    }

    /// The change, if a contact with this consent needs it.
    pub fn needed(&self, stored_opted_out: bool) -> Option<&ConsentChange> {
        (stored_opted_out != self.opted_out).then_some(self)
    }
}

/// Entries of one request that share a phone, merged as if applied in order: the last
/// non-empty name wins, tags are united.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub phone: String,
    /// Request indices, first one first: it carries the result, the others are duplicates.
    pub indices: Vec<usize>,
    pub name: Option<String>,
    pub tags: Vec<String>,
    /// A consent change (an entry with `"optedOut": true`).
    pub consent: Option<ConsentChange>,
}

/// Groups valid entries by phone, in order of first appearance. An entry that opts out
/// opts the group out, recorded with `source`.
pub fn group_by_phone(entries: &[(usize, ValidEntry)], source: ConsentSource) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut by_phone: HashMap<&str, usize> = HashMap::new();
    for (index, e) in entries {
        match by_phone.get(e.phone.as_str()) {
            Some(&g) => {
                let group = &mut groups[g];
                group.indices.push(*index);
                if e.name.is_some() {
                    group.name.clone_from(&e.name);
                }
                group.tags = union(&group.tags, &e.tags);
                if e.opt_out {
                    group.consent = Some(ConsentChange::new(true, source));
                }
            }
            None => {
                by_phone.insert(&e.phone, groups.len());
                groups.push(Group {
                    phone: e.phone.clone(),
                    indices: vec![*index],
                    name: e.name.clone(),
                    tags: e.tags.clone(),
                    consent: e.opt_out.then(|| ConsentChange::new(true, source)),
                });
            }
        }
    }
    groups
}

/// Sorted union of two tag sets.
pub fn union(a: &[String], b: &[String]) -> Vec<String> {
    a.iter()
        .chain(b)
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A contact's name and tags after an upsert: the stored ones with the group applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub name: String,
    pub tags: Vec<String>,
    /// False when the upsert would change nothing (no write is made).
    pub changed: bool,
}

/// Applies a group to the stored contact (`None`: a new contact).
pub fn merge(stored: Option<(&str, &[String])>, group: &Group) -> Result<Merged, String> {
    let field = format!(
        "contacts[{}].tags",
        group.indices.first().copied().unwrap_or(0)
    );
    let (old_name, old_tags) = stored.unwrap_or(("", &[]));
    let name = group.name.clone().unwrap_or_else(|| old_name.to_string());
    let tags = union(old_tags, &group.tags);
    if tags.len() > MAX_TAGS_PER_CONTACT {
        return Err(too_many_tags(&field));
    }
    let changed = stored.is_none() || name != old_name || tags != old_tags;
    Ok(Merged {
        name,
        tags,
        changed,
    })
}

/// How `PATCH /api/contacts/{id}` changes tags: replace them all, or add and remove some.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagChange {
    Replace(Vec<String>),
    Edit {
        add: Vec<String>,
        remove: Vec<String>,
    },
}

impl TagChange {
    /// From the request's `tags`, `addTags` and `removeTags` (`None`: no tag change).
    pub fn from_request(
        tags_: Option<&[String]>,
        add: Option<&[String]>,
        remove: Option<&[String]>,
    ) -> Result<Option<TagChange>, String> {
        match (tags_, add, remove) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(
                "Send either \"tags\" (replaces every tag) or \"addTags\"/\"removeTags\", not both"
                    .into(),
            ),
            (Some(t), None, None) => Ok(Some(TagChange::Replace(tags("tags", t)?))),
            (None, None, None) => Ok(None),
            (None, add, remove) => {
                let add = tags("addTags", add.unwrap_or_default())?;
                // Removing is lenient about the count but not about the form.
                let mut rm = BTreeSet::new();
                for (i, t) in remove.unwrap_or_default().iter().enumerate() {
                    rm.insert(tag(&format!("removeTags[{i}]"), t)?);
                }
                Ok(Some(TagChange::Edit {
                    add,
                    remove: rm.into_iter().collect(),
                }))
            }
        }
    }

    /// The contact's tags after the change.
    pub fn apply(&self, current: &[String]) -> Result<Vec<String>, String> {
        let (field, out) = match self {
            TagChange::Replace(t) => ("tags", t.clone()),
            TagChange::Edit { add, remove } => (
                "addTags",
                union(current, add)
                    .into_iter()
                    .filter(|t| !remove.contains(t))
                    .collect(),
            ),
        };
        if out.len() > MAX_TAGS_PER_CONTACT {
            return Err(too_many_tags(field));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tags_are_folded_deduplicated_and_bounded() {
        assert_eq!(
            tags("tags", &strings(&[" VIP ", "vip", "jan-26", "lead"])),
            Ok(strings(&["jan-26", "lead", "vip"]))
        );
        assert_eq!(tag("tags[0]", "Café Owners"), Ok("café owners".into()));
        let bad = "\"tags[1]\" must be 1-50 letters, digits, spaces or - _ . : /";
        for t in ["", "  ", "a#b", "a,b", "x\ny", &"a".repeat(51)] {
            assert_eq!(tags("tags", &strings(&["ok", t])), Err(bad.into()), "{t:?}");
        }
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert_eq!(
            tags("tags", &many),
            Err("\"tags\": a contact can have at most 20 tags".into())
        );
    }

    #[test]
    fn names() {
        assert_eq!(name("name", "  Ali  "), Ok("Ali".into()));
        assert_eq!(name("name", ""), Ok("".into()));
        assert!(name("name", &"a".repeat(201)).is_err());
        assert_eq!(
            name("contacts[2].name", "a\u{7}"),
            Err("\"contacts[2].name\" must not contain control characters".into())
        );
        assert_eq!(fold_name("  Ali   KHAN "), "ali khan");
        assert_eq!(list_name(" "), Err("\"name\" must not be empty".into()));
    }

    #[test]
    fn search_is_a_phone_or_a_name_prefix() {
        assert_eq!(
            Search::parse("+92 300"),
            Ok(Search::PhonePrefix("92300".into()))
        );
        assert_eq!(
            Search::parse("  Ali  K"),
            Ok(Search::NamePrefix("ali k".into()))
        );
        assert_eq!(
            Search::parse(" "),
            Err("\"search\" must not be empty".into())
        );
    }

    #[test]
    fn entries_name_their_index() {
        let input = |phone: &str, tags: &[&str]| ContactInput {
            name: Some(" ".into()),
            phone: phone.into(),
            tags: strings(tags),
            opted_out: None,
        };
        assert_eq!(
            entry(0, &input("+92 300 1234567", &["A"]), None),
            Ok(ValidEntry {
                phone: "923001234567".into(),
                name: None,
                tags: strings(&["a"]),
                opt_out: false,
            })
        );
        assert_eq!(
            entry(3, &input("12", &[]), None),
            Err("\"contacts[3].phone\" must be an E.164 number or local digits".into())
        );
        assert!(entry(4, &input("1234567", &["#"]), None)
            .is_err_and(|e| e.starts_with("\"contacts[4].tags[0]\"")));
    }

    #[test]
    fn duplicates_in_a_request_merge_in_order() {
        let e = |phone: &str, name: Option<&str>, tags: &[&str]| ValidEntry {
            phone: phone.into(),
            name: name.map(str::to_string),
            tags: strings(tags),
            opt_out: false,
        };
        let mut out = e("111", None, &["a", "c"]);
        out.opt_out = true;
        let groups = group_by_phone(
            &[
                (0, e("111", Some("Ali"), &["a"])),
                (1, e("222", None, &[])),
                (3, e("111", Some("Ali Khan"), &["b"])),
                (4, out),
            ],
            ConsentSource::Import,
        );
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].indices, vec![0, 3, 4]);
        assert_eq!(groups[0].name.as_deref(), Some("Ali Khan"));
        assert_eq!(groups[0].tags, strings(&["a", "b", "c"]));
        assert_eq!(
            groups[0].consent,
            Some(ConsentChange::new(true, ConsentSource::Import))
        );
        assert_eq!(groups[1].indices, vec![1]);
        assert_eq!(groups[1].consent, None);
    }

    #[test]
    fn upserts_merge_tags_and_keep_names() {
        let group = |name: Option<&str>, tags: &[&str]| Group {
            phone: "111".into(),
            indices: vec![2],
            name: name.map(str::to_string),
            tags: strings(tags),
            consent: None,
        };
        let stored_tags = strings(&["lead"]);
        let stored = Some(("Ali", stored_tags.as_slice()));
        assert_eq!(
            merge(stored, &group(None, &["vip"])),
            Ok(Merged {
                name: "Ali".into(),
                tags: strings(&["lead", "vip"]),
                changed: true
            })
        );
        assert_eq!(
            merge(stored, &group(Some("Ali"), &["lead"])).map(|m| m.changed),
            Ok(false)
        );
        assert_eq!(
            merge(stored, &group(Some("Sara"), &[])).map(|m| (m.name, m.changed)),
            Ok(("Sara".into(), true))
        );
        assert_eq!(
            merge(None, &group(None, &[])),
            Ok(Merged {
                name: String::new(),
                tags: vec![],
                changed: true
            })
        );
        let twenty: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
        assert_eq!(
            merge(Some(("", twenty.as_slice())), &group(None, &["x"])),
            Err("\"contacts[2].tags\": a contact can have at most 20 tags".into())
        );
    }

    #[test]
    fn tag_changes() {
        let current = strings(&["a", "b"]);
        let s = |v: &[&str]| Some(strings(v));
        let change = |t: Option<Vec<String>>, a: Option<Vec<String>>, r: Option<Vec<String>>| {
            TagChange::from_request(t.as_deref(), a.as_deref(), r.as_deref())
        };
        assert_eq!(change(None, None, None), Ok(None));
        assert!(change(s(&["x"]), s(&["y"]), None).is_err());
        let replace = change(s(&["X"]), None, None).ok().flatten();
        assert_eq!(
            replace.map(|c| c.apply(&current)),
            Some(Ok(strings(&["x"])))
        );
        let edit = change(None, s(&["c"]), s(&["A", "zz"])).ok().flatten();
        assert_eq!(
            edit.map(|c| c.apply(&current)),
            Some(Ok(strings(&["b", "c"])))
        );
        let twenty: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
        let add = change(None, s(&["new"]), None).ok().flatten();
        assert_eq!(
            add.map(|c| c.apply(&twenty)),
            Some(Err("\"addTags\": a contact can have at most 20 tags".into()))
        );
    }
}
