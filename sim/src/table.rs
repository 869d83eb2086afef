//! The requests in the system, by slot: the `slab` crate's layout and
//! order of slots (a new entry takes the slot freed last, or a new one at
//! the end), without its `remove` moving the entry out.
//!
//! `Slab::remove` returns the value it removes, a copy of the whole entry
//! read in wide moves; a request's fields written just before, in the same
//! event (its flags, its job), made each of those reads wait for the
//! stores (a store-forwarding stall per request). Here removing writes the
//! vacancy over the entry and reads nothing.
//!
//! Slots are handed out exactly as `slab` hands them out, so that the
//! requests' keys, and every order that follows them (a scan of the
//! requests, the events it schedules), stay the same.

enum Entry<T> {
    /// Free; the slot freed before it (a chain through the free slots).
    Vacant(usize),
    Occupied(T),
}

pub(crate) struct Table<T> {
    entries: Vec<Entry<T>>,
    len: usize,
    /// The slot the next entry takes.
    next: usize,
}

impl<T> Table<T> {
    pub fn new() -> Table<T> {
        Table {
            entries: Vec::new(),
            len: 0,
            next: 0,
        }
    }

    /// Entries held.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// The slot [`Table::insert`] will put the next entry in.
    #[inline(always)]
    pub fn next_key(&self) -> usize {
        self.next
    }

    /// Puts `value` in the slot [`Table::next_key`] named and returns it.
    #[inline(always)]
    pub fn insert(&mut self, value: T) -> usize {
        let key = self.next;
        self.len += 1;
        if key == self.entries.len() {
            self.entries.push(Entry::Occupied(value));
            self.next = key + 1;
        } else {
            self.next = match self.entries[key] {
                Entry::Vacant(next) => next,
                Entry::Occupied(_) => unreachable!("the next slot is free"),
            };
            self.entries[key] = Entry::Occupied(value);
        }
        key
    }

    /// Frees slot `key`, which must hold an entry; the entry is dropped
    /// where it lies.
    #[inline(always)]
    pub fn remove(&mut self, key: usize) {
        let e = &mut self.entries[key];
        assert!(matches!(e, Entry::Occupied(_)), "slot {key} is free");
        *e = Entry::Vacant(self.next);
        self.next = key;
        self.len -= 1;
    }

    #[inline(always)]
    pub fn get(&self, key: usize) -> Option<&T> {
        match self.entries.get(key) {
            Some(Entry::Occupied(v)) => Some(v),
            _ => None,
        }
    }

    #[inline(always)]
    pub fn get_mut(&mut self, key: usize) -> Option<&mut T> {
        match self.entries.get_mut(key) {
            Some(Entry::Occupied(v)) => Some(v),
            _ => None,
        }
    }

    /// The entries and their slots, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        self.entries.iter().enumerate().filter_map(|(k, e)| match e {
            Entry::Occupied(v) => Some((k, v)),
            Entry::Vacant(_) => None,
        })
    }

    /// The entries and their slots, in slot order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (usize, &mut T)> {
        self.entries.iter_mut().enumerate().filter_map(|(k, e)| match e {
            Entry::Occupied(v) => Some((k, v)),
            Entry::Vacant(_) => None,
        })
    }
}

impl<T> std::ops::Index<usize> for Table<T> {
    type Output = T;

    #[inline(always)]
    fn index(&self, key: usize) -> &T {
        match self.entries.get(key) {
            Some(Entry::Occupied(v)) => v,
            _ => panic!("invalid key {key}"),
        }
    }
}

impl<T> std::ops::IndexMut<usize> for Table<T> {
    #[inline(always)]
    fn index_mut(&mut self, key: usize) -> &mut T {
        match self.entries.get_mut(key) {
            Some(Entry::Occupied(v)) => v,
            _ => panic!("invalid key {key}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Table;
    use slab::Slab;

    #[test]
    fn slots_are_handed_out_as_slab_hands_them_out() {
        let mut table = Table::new();
        let mut slab = Slab::new();
        let mut x: u64 = 7;
        let mut held: Vec<usize> = Vec::new();
        for step in 0..50_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if held.is_empty() || x % 100 < 55 {
                assert_eq!(table.next_key(), slab.vacant_entry().key());
                let k = table.insert(step);
                assert_eq!(k, slab.insert(step));
                held.push(k);
            } else {
                let k = held.swap_remove((x >> 8) as usize % held.len());
                let v = table[k];
                table.remove(k);
                assert_eq!(slab.remove(k), v);
                assert!(table.get(k).is_none());
            }
            assert_eq!(table.len(), slab.len());
        }
        let a: Vec<(usize, u64)> = table.iter().map(|(k, v)| (k, *v)).collect();
        let b: Vec<(usize, u64)> = slab.iter().map(|(k, v)| (k, *v)).collect();
        assert_eq!(a, b);
        for k in 0..1000 {
            assert_eq!(table.get(k), slab.get(k));
        }
    }
}
