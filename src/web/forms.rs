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
    pub file: Option<(String, axum::body::Bytes)>,
    pub fields: std::collections::HashMap<String, String>,
}

/// The longest text field a multipart form may carry beside its file.
const UPLOAD_FIELD_LIMIT: usize = 64 * 1024;

fn too_large(e: &axum::extract::multipart::MultipartError) -> bool {
    e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE
}

fn too_large_file() -> crate::AppError {
    crate::AppError::TooLarge(
        "The file is larger than this page accepts. Upload a smaller file (or split it in two)."
            .into(),
    )
}

/// Read straight from the request (a handler takes `up: Upload`): the file is gathered
/// into one buffer of the size the request declares, not grown by doubling, so a 50 MB
/// file costs 50 MB.
impl<S: Send + Sync> axum::extract::FromRequest<S> for Upload {
    type Rejection = crate::AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> crate::Result<Upload> {
        let declared = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
            .min(super::UPLOAD_LIMIT);
        let mp = axum::extract::Multipart::from_request(req, state)
            .await
            .map_err(|e| {
                crate::AppError::BadRequest(format!("the upload could not be read: {e}"))
            })?;
        Upload::read(mp, declared).await
    }
}

impl Upload {
    async fn read(mut mp: axum::extract::Multipart, declared: usize) -> crate::Result<Upload> {
        let mut out = Upload::default();
        while let Some(mut field) = mp.next_field().await.map_err(|e| {
            if too_large(&e) {
                too_large_file()
            } else {
                crate::AppError::BadRequest(format!("the upload could not be read: {e}"))
            }
        })? {
            let key = field.name().unwrap_or("").to_string();
            if key == "file" {
                // Browsers on Windows have sent the whole path: keep the file's own name,
                // without control characters (it is stored in the import history).
                let name: String = field
                    .file_name()
                    .unwrap_or("upload")
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or("upload")
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect();
                let name = if name.trim().is_empty() {
                    "upload".to_string()
                } else {
                    name
                };
                let mut bytes = Vec::with_capacity(declared);
                while let Some(chunk) = field.chunk().await.map_err(|e| {
                    if too_large(&e) {
                        too_large_file()
                    } else {
                        crate::AppError::BadRequest(format!("the file could not be received: {e}"))
                    }
                })? {
                    bytes.extend_from_slice(&chunk);
                }
                if !bytes.is_empty() {
                    out.file = Some((name, bytes.into()));
                }
            } else {
                let mut value = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(|e| {
                    crate::AppError::BadRequest(format!("the form could not be read: {e}"))
                })? {
                    if value.len() + chunk.len() > UPLOAD_FIELD_LIMIT {
                        return Err(crate::AppError::TooLarge(format!(
                            "The field {key:?} is longer than {} characters.",
                            UPLOAD_FIELD_LIMIT
                        )));
                    }
                    value.extend_from_slice(&chunk);
                }
                let value = String::from_utf8(value).map_err(|_| {
                    crate::AppError::BadRequest(format!("the field {key:?} is not text"))
                })?;
                crate::web::text::check_field(&key, &value)?;
                out.fields.insert(key, value);
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
