//! The one error type of the fingerprint stage.

/// Everything that can go wrong while fingerprinting outside input or loading the model.
#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    #[error("not a recognised image format")]
    UnknownFormat,
    #[error("image is {width}x{height} pixels, beyond the limit of {max_width}x{max_height}")]
    TooLarge {
        width: u32,
        height: u32,
        max_width: u32,
        max_height: u32,
    },
    #[error("decoding {width}x{height} pixels needs {needed} bytes, beyond the limit of {limit}")]
    TooMuchMemory {
        width: u32,
        height: u32,
        needed: u64,
        limit: u64,
    },
    #[error("image data is truncated (no end-of-image marker)")]
    Truncated,
    #[error("image has no pixels")]
    Empty,
    #[error("cannot decode image: {0}")]
    Decode(String),
    #[error("model weights: {0}")]
    Weights(String),
    #[error("model inference: {0}")]
    Inference(String),
    #[error("invalid PDQ hash: {0}")]
    BadHash(String),
    #[error("stored fingerprint: {0}")]
    Stored(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl From<candle_core::Error> for FingerprintError {
    fn from(e: candle_core::Error) -> Self {
        FingerprintError::Inference(e.to_string())
    }
}
