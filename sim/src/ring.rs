//! A first-in first-out queue of `Copy` values in a ring whose capacity is
//! a power of two.
//!
//! `VecDeque` did the same, but its `push_back` was left out of line: the
//! value went to it through the stack, written field by field and read
//! back in wider moves, which waited for those stores (a store-forwarding
//! stall on every connection queued in FPM's backlog). Here a push and a
//! pop are a few instructions where they are made, and the value is never
//! needed in memory before it is stored where it goes (growing fills the
//! new room with defaults, not with it).

pub(crate) struct Ring<T> {
    /// Its length is the capacity (0 or a power of two); slots past the
    /// queue hold stale copies.
    buf: Vec<T>,
    head: usize,
    len: usize,
}

impl<T: Copy + Default> Ring<T> {
    pub fn new() -> Ring<T> {
        Ring {
            buf: Vec::new(),
            head: 0,
            len: 0,
        }
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub fn push_back(&mut self, value: T) {
        if self.len == self.buf.len() {
            self.grow();
        }
        let i = (self.head + self.len) & (self.buf.len() - 1);
        self.buf[i] = value;
        self.len += 1;
    }

    #[inline(always)]
    pub fn pop_front(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let value = self.buf[self.head];
        self.head = (self.head + 1) & (self.buf.len() - 1);
        self.len -= 1;
        Some(value)
    }

    /// Doubles the capacity (at least 4), the queue moved to its start.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let capacity = (2 * self.buf.len()).max(4);
        let mut buf = Vec::with_capacity(capacity);
        buf.extend((0..self.len).map(|i| self.buf[(self.head + i) & (self.buf.len() - 1)]));
        buf.resize(capacity, T::default());
        self.buf = buf;
        self.head = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::Ring;
    use std::collections::VecDeque;

    #[test]
    fn it_is_a_fifo_through_any_mix_of_pushes_and_pops() {
        let mut ring = Ring::new();
        let mut model = VecDeque::new();
        let mut x: u64 = 1;
        for step in 0..100_000u32 {
            // xorshift: pushes win slightly, so the queue grows through
            // several capacities and drains at times.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x % 100 < 52 || step % 5000 < 10 {
                ring.push_back(step);
                model.push_back(step);
            } else {
                assert_eq!(ring.pop_front(), model.pop_front());
            }
            assert_eq!(ring.len(), model.len());
        }
        while let Some(v) = model.pop_front() {
            assert_eq!(ring.pop_front(), Some(v));
        }
        assert_eq!(ring.pop_front(), None);
    }
}
