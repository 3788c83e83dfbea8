//! Password hashing with Argon2id (the argon2 crate's defaults: Argon2id v19, 19 MiB, t=2, p=1,
//! as OWASP recommends).

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::cell::RefCell;
use std::sync::OnceLock;

thread_local! {
    /// Argon2's 19 MB of working memory, allocated once per thread that hashes and reused:
    /// allocated afresh for each check, the allocator kept a new block for nearly every one.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs Argon2 with this thread's working memory.
fn compute(argon: &Argon2, password: &[u8], salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
    MEMORY.with(|m| {
        let mut m = m.borrow_mut();
        let need = argon.params().block_count();
        if m.len() < need {
            m.resize(need, Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut m[..need])
    })
}

pub fn hash(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| anyhow::anyhow!("random source: {e}"))?;
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon, password.as_bytes(), &salt, &mut out)
        .map_err(|e| anyhow::anyhow!("hash: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("params: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("output: {e}"))?),
    };
    Ok(phc.to_string())
}

pub fn verify(password: &str, stored: &str) -> bool {
    let Ok(h) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(h.algorithm),
        Params::try_from(&h),
        h.salt,
        h.hash,
    ) else {
        return false;
    };
    let version = match h.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params);
    if compute(&argon, password.as_bytes(), salt, &mut out).is_err() {
        return false;
    }
    // Output's comparison takes the same time whatever the bytes.
    Output::new(&out).is_ok_and(|o| o == expected)
}

/// Verifies against a throwaway hash when the account does not exist (or has no password
/// yet), so a wrong e-mail address takes as long as a wrong password and timing reveals
/// nothing about which accounts exist.
pub fn verify_or_dummy(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    match stored {
        Some(s) => verify(password, s),
        None => {
            let d = DUMMY
                .get_or_init(|| hash("not a real password, only for timing").unwrap_or_default());
            let _ = verify(password, d);
            false
        }
    }
}

/// A readable random password: four groups of five lower-case letters and digits (about 103
/// bits), for the CLI's one-time passwords and the demo admin.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 20];
    getrandom::getrandom(&mut bytes).expect("random source");
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    chars
        .chunks(5)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// How many Argon2 computations run at once across the whole server.
pub fn argon2_parallelism() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 8)
}

type Job = Box<dyn FnOnce() + Send>;

/// Argon2 runs on a few threads of its own, [`argon2_parallelism`] of them, that live as long
/// as the server: each check takes 19 MB, and run on the async runtime's blocking pool (a new
/// thread whenever none is idle) fifty sign-ins at once left fifty threads each holding its
/// 19 MB, 1.2 GB in all. Here the work queues and the memory stays a few times 19 MB.
fn argon2_queue() -> &'static std::sync::mpsc::Sender<Job> {
    static QUEUE: OnceLock<std::sync::mpsc::Sender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for i in 0..argon2_parallelism() {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .expect("start an Argon2 thread");
        }
        tx
    })
}

async fn on_argon2_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    argon2_queue()
        .send(Box::new(move || {
            // The request that asked has gone (its client hung up): no work for it.
            if !tx.is_closed() {
                let _ = tx.send(f());
            }
        }))
        .map_err(|_| anyhow::anyhow!("the password threads have stopped"))?;
    Ok(rx.await?)
}

/// [`hash`] off the async workers (Argon2 is deliberately slow).
pub async fn hash_async(password: &str) -> anyhow::Result<String> {
    let pw = password.to_string();
    on_argon2_thread(move || hash(&pw)).await?
}

/// [`verify_or_dummy`] off the async workers.
pub async fn verify_async(password: &str, stored: Option<&str>) -> bool {
    let (pw, stored) = (password.to_string(), stored.map(str::to_string));
    on_argon2_thread(move || verify_or_dummy(&pw, stored.as_deref()))
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn hashes_read_both_ways_with_the_argon2_crate() {
        // A hash as the argon2 crate's own API writes it (as every stored hash was made
        // before working memory was reused) verifies here, and ours verifies there.
        let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
        let theirs = Argon2::default()
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        assert!(verify("correct horse battery", &theirs));
        assert!(!verify("correct horse batterY", &theirs));
        let ours = hash("three quiet herons").unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"three quiet herons", &parsed)
                .is_ok()
        );
        assert!(!verify("three quiet heron", &ours));
        assert!(!verify("x", "not a hash"));
    }
}
