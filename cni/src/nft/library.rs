//! libnftables (Debian's `libnftables1`) loaded at run time, and a context that runs scripts
//! in-process. A context talks to the network namespace of the thread that uses it.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::sync::{Arc, Mutex};

use super::NftError;

const SONAME: &str = "libnftables.so.1";
const OUTPUT_JSON: c_uint = 1 << 4;

type CtxNew = unsafe extern "C" fn(u32) -> *mut c_void;
type CtxFree = unsafe extern "C" fn(*mut c_void);
type CtxBuffer = unsafe extern "C" fn(*mut c_void) -> c_int;
type CtxGetBuffer = unsafe extern "C" fn(*mut c_void) -> *const c_char;
type CtxSetFlags = unsafe extern "C" fn(*mut c_void, c_uint);
type RunCmd = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int;

/// libnftables keeps some process-wide state; one call at a time is the safe use.
static LOCK: Mutex<()> = Mutex::new(());

fn locked() -> std::sync::MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The entry points of a loaded libnftables.
#[derive(Clone)]
pub(super) struct Library {
    ctx_new: CtxNew,
    ctx_free: CtxFree,
    buffer_output: CtxBuffer,
    buffer_error: CtxBuffer,
    get_output: CtxGetBuffer,
    get_error: CtxGetBuffer,
    set_output_flags: CtxSetFlags,
    run_cmd: RunCmd,
    // Keeps the function pointers above valid.
    _lib: Arc<libloading::Library>,
}

impl Library {
    /// Loads `libnftables.so.1` and resolves the functions Skiff uses.
    pub(super) fn load() -> Result<Self, NftError> {
        let err = |e: libloading::Error| NftError::Library(e.to_string());
        // SAFETY: loading libnftables runs only its ELF constructors, which have no
        // preconditions.
        let lib = unsafe { libloading::Library::new(SONAME) }.map_err(err)?;
        // SAFETY: each symbol is declared with the C signature of libnftables.h.
        unsafe {
            Ok(Self {
                ctx_new: *lib.get::<CtxNew>("nft_ctx_new").map_err(err)?,
                ctx_free: *lib.get::<CtxFree>("nft_ctx_free").map_err(err)?,
                buffer_output: *lib.get::<CtxBuffer>("nft_ctx_buffer_output").map_err(err)?,
                buffer_error: *lib.get::<CtxBuffer>("nft_ctx_buffer_error").map_err(err)?,
                get_output: *lib
                    .get::<CtxGetBuffer>("nft_ctx_get_output_buffer")
                    .map_err(err)?,
                get_error: *lib
                    .get::<CtxGetBuffer>("nft_ctx_get_error_buffer")
                    .map_err(err)?,
                set_output_flags: *lib
                    .get::<CtxSetFlags>("nft_ctx_output_set_flags")
                    .map_err(err)?,
                run_cmd: *lib.get::<RunCmd>("nft_run_cmd_from_buffer").map_err(err)?,
                _lib: Arc::new(lib),
            })
        }
    }

    /// A new context. Its netlink socket belongs to the network namespace of the calling
    /// thread, whichever thread uses it later.
    pub(super) fn context(&self) -> Result<Context, NftError> {
        let _guard = locked();
        // SAFETY: nft_ctx_new has no preconditions; 0 is NFT_CTX_DEFAULT. `raw` is then a live
        // context, freed here on failure or by Context's Drop.
        unsafe {
            let raw = (self.ctx_new)(0);
            if raw.is_null() {
                return Err(NftError::Library("nft_ctx_new failed".into()));
            }
            if (self.buffer_output)(raw) != 0 || (self.buffer_error)(raw) != 0 {
                (self.ctx_free)(raw);
                return Err(NftError::Library("cannot buffer libnftables output".into()));
            }
            Ok(Context {
                lib: self.clone(),
                raw,
            })
        }
    }
}

/// A libnftables context with buffered output and error streams.
pub(super) struct Context {
    lib: Library,
    raw: *mut c_void,
}

// SAFETY: a libnftables context is plain heap state plus a socket, not tied to the thread that
// made it; every call into it holds LOCK, so it is never used from two threads at once.
unsafe impl Send for Context {}

/// What a command printed.
pub(super) struct Outcome {
    /// Whether libnftables reported success.
    pub ok: bool,
    /// The output stream (JSON when asked for).
    pub output: String,
    /// The error stream.
    pub error: String,
}

impl Context {
    /// Runs `script` as one batch; `json` selects JSON output (for listings).
    pub(super) fn run(&mut self, script: &str, json: bool) -> Result<Outcome, NftError> {
        let script = CString::new(script)
            .map_err(|_| NftError::Library("script contains a NUL byte".into()))?;
        let _guard = locked();
        // SAFETY: `raw` is live and `script` is a NUL-terminated string outliving the call;
        // the returned buffers stay valid until the next command on this context and are
        // copied before that.
        unsafe {
            (self.lib.set_output_flags)(self.raw, if json { OUTPUT_JSON } else { 0 });
            let rc = (self.lib.run_cmd)(self.raw, script.as_ptr());
            Ok(Outcome {
                ok: rc == 0,
                output: copy((self.lib.get_output)(self.raw)),
                error: copy((self.lib.get_error)(self.raw)),
            })
        }
    }

    /// Applies `script` as one transaction.
    pub(super) fn apply(&mut self, script: &str) -> Result<(), NftError> {
        let out = self.run(script, false)?;
        if out.ok {
            Ok(())
        } else {
            Err(NftError::Transaction {
                message: out.error.trim_end().to_string(),
            })
        }
    }

    /// Runs one `list` command with JSON output; `None` when the object does not exist.
    pub(super) fn list(&mut self, command: &str) -> Result<Option<String>, NftError> {
        let out = self.run(command, true)?;
        if out.ok {
            Ok(Some(out.output))
        } else if out.error.contains("No such file or directory") {
            Ok(None)
        } else {
            Err(NftError::Transaction {
                message: out.error.trim_end().to_string(),
            })
        }
    }
}

/// # Safety
/// `p` is null or a NUL-terminated string.
unsafe fn copy(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: per this function's contract.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Closing the socket waits, in the kernel, until objects deleted by the last transaction are
/// freed (an RCU grace period, ~10 ms): keep a context until a moment where that costs nothing.
impl Drop for Context {
    fn drop(&mut self) {
        let _guard = locked();
        // SAFETY: `raw` came from nft_ctx_new and is freed once.
        unsafe { (self.lib.ctx_free)(self.raw) }
    }
}
