//! Route selection as API Gateway HTTP APIs do it: the most specific route wins — literal
//! segments before `{param}`, `{param}` before a greedy `{proxy+}`, an exact method before
//! `ANY`. A request no route matches gets API Gateway's own 404 body.

use crate::template::Route;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
    Greedy,
}

#[derive(Debug, Clone)]
pub struct RouteTable {
    routes: Vec<(Route, Vec<Segment>)>,
}

fn segments(path: &str) -> Vec<Segment> {
    path.trim_start_matches('/')
        .split('/')
        .map(|s| {
            if s.starts_with('{') && s.ends_with("+}") {
                Segment::Greedy
            } else if s.starts_with('{') && s.ends_with('}') {
                Segment::Param
            } else {
                Segment::Literal(s.to_string())
            }
        })
        .collect()
}

impl RouteTable {
    pub fn new(routes: Vec<Route>) -> Self {
        RouteTable {
            routes: routes
                .into_iter()
                .map(|r| {
                    let s = segments(&r.path);
                    (r, s)
                })
                .collect(),
        }
    }

    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter().map(|(r, _)| r)
    }

    /// The route that serves `method path`, if any.
    pub fn find(&self, method: &str, path: &str) -> Option<&Route> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        self.routes
            .iter()
            .filter(|(r, _)| r.method == "ANY" || r.method.eq_ignore_ascii_case(method))
            .filter_map(|(r, segs)| score(segs, &parts).map(|s| ((s, r.method != "ANY"), r)))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, r)| r)
    }
}

/// Per-segment specificity (2 literal, 1 param, 0 greedy), or `None` if it does not match.
fn score(segs: &[Segment], parts: &[&str]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(segs.len());
    for (i, seg) in segs.iter().enumerate() {
        match seg {
            Segment::Greedy => {
                // Matches one or more remaining segments.
                if parts.len() > i && parts[i..].iter().any(|p| !p.is_empty()) {
                    out.push(0);
                    return Some(out);
                }
                return None;
            }
            Segment::Literal(l) => {
                if parts.get(i) != Some(&l.as_str()) {
                    return None;
                }
                out.push(2);
            }
            Segment::Param => {
                if parts.get(i).is_none_or(|p| p.is_empty()) {
                    return None;
                }
                out.push(1);
            }
        }
    }
    (parts.len() == segs.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        let r = |m: &str, p: &str, f: &str| Route {
            method: m.into(),
            path: p.into(),
            function: f.into(),
        };
        RouteTable::new(vec![
            r("GET", "/api/keys", "Settings"),
            r("PATCH", "/api/keys/{id}", "Settings"),
            r("GET", "/api/admin/tenants/{id}", "Admin"),
            r("GET", "/api/admin/tenants/search", "Search"),
            r("OPTIONS", "/{proxy+}", "Meta"),
            r("ANY", "/api/any/{id}", "Any"),
            r("DELETE", "/api/any/{id}", "Exact"),
        ])
    }

    fn find(m: &str, p: &str) -> Option<String> {
        table().find(m, p).map(|r| r.function.clone())
    }

    #[test]
    fn most_specific_route_wins() {
        assert_eq!(find("GET", "/api/keys").as_deref(), Some("Settings"));
        assert_eq!(find("PATCH", "/api/keys/abc").as_deref(), Some("Settings"));
        assert_eq!(
            find("GET", "/api/admin/tenants/search").as_deref(),
            Some("Search")
        );
        assert_eq!(
            find("GET", "/api/admin/tenants/42").as_deref(),
            Some("Admin")
        );
        assert_eq!(find("OPTIONS", "/api/keys").as_deref(), Some("Meta"));
        assert_eq!(find("DELETE", "/api/any/1").as_deref(), Some("Exact"));
        assert_eq!(find("GET", "/api/any/1").as_deref(), Some("Any"));
    }

    #[test]
    fn unmatched_requests_find_nothing() {
        assert_eq!(find("POST", "/api/keys/abc"), None);
        assert_eq!(find("GET", "/api/keys/abc/extra"), None);
        assert_eq!(find("PATCH", "/api/keys/"), None);
        assert_eq!(find("GET", "/nope"), None);
    }
}
