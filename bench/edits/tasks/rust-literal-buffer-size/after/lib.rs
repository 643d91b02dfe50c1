/// Bytes read from the socket at a time.
pub const BUFFER_SIZE: usize = 4096;

/// How many reads a message of `len` bytes takes.
pub fn reads_needed(len: usize) -> usize {
    (len + BUFFER_SIZE - 1) / BUFFER_SIZE
}

/// A zeroed read buffer.
pub fn new_buffer() -> Vec<u8> {
    vec![0; BUFFER_SIZE]
}
