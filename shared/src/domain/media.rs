//! What WhatsApp accepts as media (Meta's "supported media types"): the four
//! kinds the API sends, their size limits and MIME types, and MIME detection by extension.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const MB: u64 = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    Document,
}

impl MediaKind {
    pub const ALL: [MediaKind; 4] = [
        MediaKind::Image,
        MediaKind::Video,
        MediaKind::Audio,
        MediaKind::Document,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Document => "document",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The spec's limits: image 5 MB, video 16 MB, audio 16 MB, document 100 MB.
    pub fn max_bytes(self) -> u64 {
        match self {
            MediaKind::Image => 5 * MB,
            MediaKind::Video | MediaKind::Audio => 16 * MB,
            MediaKind::Document => 100 * MB,
        }
    }

    pub fn accepted_mimetypes(self) -> &'static [&'static str] {
        match self {
            MediaKind::Image => &["image/jpeg", "image/png"],
            MediaKind::Video => &["video/mp4", "video/3gpp"],
            MediaKind::Audio => &[
                "audio/aac",
                "audio/amr",
                "audio/mpeg",
                "audio/mp4",
                "audio/ogg",
            ],
            MediaKind::Document => &[
                "application/pdf",
                "text/plain",
                "application/msword",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.ms-excel",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            ],
        }
    }

    /// Whether WhatsApp takes `mimetype` (normalised) for this kind.
    pub fn accepts(self, mimetype: &str) -> bool {
        self.accepted_mimetypes().contains(&mimetype)
    }

    pub fn allows_caption(self) -> bool {
        self != MediaKind::Audio
    }
}

impl std::fmt::Display for MediaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `"Image/JPG; charset=x"` → `"image/jpeg"`: lower case, parameters dropped, common aliases
/// mapped to the names WhatsApp uses.
pub fn normalize_mimetype(raw: &str) -> String {
    let base = raw.split(';').next().unwrap_or_default().trim();
    let lower = base.to_ascii_lowercase();
    match lower.as_str() {
        "image/jpg" | "image/pjpeg" => "image/jpeg".into(),
        "audio/mp3" | "audio/mpeg3" | "audio/x-mpeg-3" => "audio/mpeg".into(),
        "audio/x-aac" => "audio/aac".into(),
        "audio/x-m4a" | "audio/m4a" => "audio/mp4".into(),
        "audio/opus" => "audio/ogg".into(),
        "video/3gp" => "video/3gpp".into(),
        _ => lower,
    }
}

/// A Content-Type that says nothing about the file (so extension detection is used).
pub fn is_generic_mimetype(m: &str) -> bool {
    matches!(
        m,
        "" | "application/octet-stream" | "binary/octet-stream" | "application/binary"
    )
}

/// A syntactically valid `type/subtype`.
pub fn is_mimetype(m: &str) -> bool {
    let Some((t, sub)) = m.split_once('/') else {
        return false;
    };
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 127
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    token(t) && token(sub)
}

/// The MIME type a file name's extension stands for, for this kind of media.
pub fn mimetype_from_path(kind: MediaKind, path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    let m = match (kind, ext.as_str()) {
        (_, "jpg" | "jpeg" | "jpe") => "image/jpeg",
        (_, "png") => "image/png",
        (MediaKind::Audio, "mp4" | "m4a") => "audio/mp4",
        (_, "mp4" | "m4v") => "video/mp4",
        (_, "3gp" | "3gpp") => "video/3gpp",
        (_, "aac") => "audio/aac",
        (_, "amr") => "audio/amr",
        (_, "mp3") => "audio/mpeg",
        (_, "m4a") => "audio/mp4",
        (_, "ogg" | "oga" | "opus") => "audio/ogg",
        (_, "pdf") => "application/pdf",
        (_, "txt") => "text/plain",
        (_, "doc") => "application/msword",
        (_, "docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (_, "xls") => "application/vnd.ms-excel",
        (_, "xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        (_, "ppt") => "application/vnd.ms-powerpoint",
        (_, "pptx") => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        _ => return None,
    };
    Some(m)
}

/// The last segment of a URL path, percent-decoded: a document's default file name.
pub fn file_name_from_path(path: &str) -> Option<String> {
    let raw = path.rsplit('/').next().unwrap_or_default();
    let name = percent_decode(raw);
    let name = name.trim();
    (!name.is_empty()
        && name.chars().count() <= 240
        && name
            .chars()
            .all(|c| !c.is_control() && c != '/' && c != '\\'))
    .then(|| name.to_string())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A document's file name as given: at most 240 characters, no path separators or controls.
pub fn file_name(value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err("\"fileName\" must not be empty".into());
    }
    if v.chars().count() > 240 {
        return Err("\"fileName\" must be at most 240 characters".into());
    }
    if v.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
        return Err(
            "\"fileName\" must be a file name, without slashes or control characters".into(),
        );
    }
    Ok(v.to_string())
}

/// "5 MB", "100 MB", "1.3 MB": for error messages.
pub fn human_size(bytes: u64) -> String {
    if bytes >= MB {
        let tenths = bytes * 10 / MB;
        if tenths % 10 == 0 {
            format!("{} MB", tenths / 10)
        } else {
            format!("{}.{} MB", tenths / 10, tenths % 10)
        }
    } else if bytes >= 1024 {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_match_the_spec() {
        assert_eq!(MediaKind::Image.max_bytes(), 5 * 1024 * 1024);
        assert_eq!(MediaKind::Video.max_bytes(), 16 * 1024 * 1024);
        assert_eq!(MediaKind::Audio.max_bytes(), 16 * 1024 * 1024);
        assert_eq!(MediaKind::Document.max_bytes(), 100 * 1024 * 1024);
        assert!(!MediaKind::Audio.allows_caption());
        assert!(MediaKind::Document.allows_caption());
    }

    #[test]
    fn mimetypes() {
        assert_eq!(normalize_mimetype("Image/JPG; q=1"), "image/jpeg");
        assert_eq!(normalize_mimetype("audio/ogg; codecs=opus"), "audio/ogg");
        assert!(MediaKind::Image.accepts("image/png"));
        assert!(!MediaKind::Image.accepts("image/gif"));
        assert!(!MediaKind::Image.accepts("image/webp"));
        assert!(MediaKind::Document.accepts("application/pdf"));
        assert!(!MediaKind::Document.accepts("text/html"));
        assert!(is_generic_mimetype("application/octet-stream"));
        assert!(is_mimetype("application/vnd.ms-excel"));
        assert!(!is_mimetype("pdf"));
        assert!(!is_mimetype("a/b c"));
    }

    #[test]
    fn detection_by_extension() {
        for (kind, path, want) in [
            (MediaKind::Image, "/a/b/photo.JPG", "image/jpeg"),
            (MediaKind::Video, "/demo.mp4", "video/mp4"),
            (MediaKind::Audio, "/voice.mp4", "audio/mp4"),
            (
                MediaKind::Document,
                "/files/invoice-2026-001.pdf",
                "application/pdf",
            ),
        ] {
            assert_eq!(mimetype_from_path(kind, path), Some(want), "{path}");
        }
        assert_eq!(mimetype_from_path(MediaKind::Image, "/noext"), None);
        assert_eq!(mimetype_from_path(MediaKind::Image, "/x.gif"), None);
        assert_eq!(
            file_name_from_path("/files/invoice.pdf"),
            Some("invoice.pdf".into())
        );
        assert_eq!(file_name_from_path("/files/"), None);
        assert_eq!(
            file_name_from_path("/files/Invoice%20Jan%C3%A9.pdf"),
            Some("Invoice Jan\u{e9}.pdf".into())
        );
        assert_eq!(file_name_from_path("/files/a%2Fb"), None);
    }

    #[test]
    fn file_names_and_sizes() {
        assert_eq!(file_name(" a.pdf "), Ok("a.pdf".into()));
        assert!(file_name("../etc/passwd").is_err());
        assert!(file_name("").is_err());
        assert_eq!(human_size(5 * 1024 * 1024), "5 MB");
        assert_eq!(human_size(17 * 1024 * 1024 + 300 * 1024), "17.2 MB");
        assert_eq!(human_size(2048), "2 KB");
    }
}
