//! Helpers shared by the crate's unit tests.

/// A fixed pseudo-random sequence (xorshift64), so a failure is reproducible.
pub(crate) fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}
