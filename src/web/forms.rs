//! Form errors in the GOV.UK pattern: a summary at the top linking to each field, and the
//! message beside the field. Nothing the user typed is dropped when a form is re-shown.

#[derive(Debug, Clone, Default)]
pub struct FormErrors {
    pub items: Vec<FieldError>,
}

#[derive(Debug, Clone)]
pub struct FieldError {
    /// The id of the input the summary links to.
    pub field: String,
    pub message: String,
}

impl FormErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.items.push(FieldError {
            field: field.to_string(),
            message: message.into(),
        });
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn get(&self, field: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    /// A form shown afresh is 200; re-shown with errors, 422.
    pub fn status(&self) -> axum::http::StatusCode {
        if self.is_empty() {
            axum::http::StatusCode::OK
        } else {
            axum::http::StatusCode::UNPROCESSABLE_ENTITY
        }
    }
}

/// Trims a text field and collapses "" to None.
pub fn opt(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A plausible e-mail address: something@domain.tld, no spaces. Deliverability is proven by
/// the invitation, not by a pattern.
pub fn valid_email(s: &str) -> bool {
    let s = s.trim();
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
        && s.len() <= 254
        && !domain.contains('@')
}

/// A multipart form with one file: the file (name without any path, bytes) when one was
/// chosen, and the other fields as text (a ticked checkbox is present, an unticked one not).
#[derive(Debug, Default)]
pub struct Upload {
    pub file: Option<(String, Vec<u8>)>,
    pub fields: std::collections::HashMap<String, String>,
}

impl Upload {
    pub async fn read(mut mp: axum::extract::Multipart) -> crate::Result<Upload> {
        let mut out = Upload::default();
        while let Some(field) = mp.next_field().await.map_err(|e| {
            crate::AppError::BadRequest(format!("the upload could not be read: {e}"))
        })? {
            let key = field.name().unwrap_or("").to_string();
            if key == "file" {
                // Browsers on Windows have sent the whole path: keep the file's own name.
                let name = field
                    .file_name()
                    .unwrap_or("upload")
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or("upload")
                    .to_string();
                let bytes = field.bytes().await.map_err(|e| {
                    crate::AppError::BadRequest(format!("the file could not be received: {e}"))
                })?;
                if !bytes.is_empty() {
                    out.file = Some((name, bytes.to_vec()));
                }
            } else {
                out.fields
                    .insert(key, field.text().await.unwrap_or_default());
            }
        }
        Ok(out)
    }
    pub fn field(&self, k: &str) -> &str {
        self.fields.get(k).map(String::as_str).unwrap_or("")
    }
    pub fn ticked(&self, k: &str) -> bool {
        self.fields.contains_key(k)
    }
}

/// A form's fields as (name, value) pairs, for forms whose field names depend on the data
/// (a domain's standards, a provider's homes) and for repeated checkboxes, which all arrive.
pub type Pairs = Vec<(String, String)>;

/// The first value of a field, or "" when the form did not send it.
pub fn field(f: &Pairs, name: &str) -> String {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Every value of a repeated field, in the order sent.
pub fn all_of(f: &Pairs, name: &str) -> Vec<String> {
    f.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}
