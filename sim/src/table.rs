//! The requests in the system, by slot: the `slab` crate's layout and
//! order of slots (a new entry takes the slot freed last, or a new one at
//! the end), without its `remove` moving the entry out.
//!
//! `Slab::remove` returns the value it removes, a copy of the whole entry
//! read in wide moves; a request's fields written just before, in the same
//! event (its flags, its job), made each of those reads wait for the
//! stores (a store-forwarding stall per request). Here removing writes
//! the slot's link and reads nothing. Which slots are free is kept apart
//! from the entries, so that indexing a held slot is a bounds check alone.
//!
//! Slots are handed out exactly as `slab` hands them out, so that the
//! requests' keys, and every order that follows them (a scan of the
//! requests, the events it schedules), stay the same.

/// `Table::links` of a slot that holds an entry.
const OCCUPIED: usize = usize::MAX;

pub(crate) struct Table<T> {
    /// The entries by slot; a free slot keeps its last entry until the
    /// slot is taken again, and nothing reads it meanwhile.
    values: Vec<T>,
    /// Per slot: [`OCCUPIED`], or (free) the slot freed before it, a chain
    /// through the free slots.
    links: Vec<usize>,
    len: usize,
    /// The slot the next entry takes.
    next: usize,
}

impl<T> Table<T> {
    pub fn new() -> Table<T> {
        Table {
            values: Vec::new(),
            links: Vec::new(),
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
        if key == self.values.len() {
            self.values.push(value);
            self.links.push(OCCUPIED);
            self.next = key + 1;
        } else {
            self.next = std::mem::replace(&mut self.links[key], OCCUPIED);
            debug_assert_ne!(self.next, OCCUPIED, "the next slot is free");
            self.values[key] = value;
        }
        key
    }

    /// Frees slot `key`, which must hold an entry. The entry is not read
    /// nor written: it is dropped when the slot is taken again.
    #[inline(always)]
    pub fn remove(&mut self, key: usize) {
        let link = &mut self.links[key];
        assert_eq!(*link, OCCUPIED, "slot {key} is free");
        *link = self.next;
        self.next = key;
        self.len -= 1;
    }

    #[inline(always)]
    pub fn get(&self, key: usize) -> Option<&T> {
        match self.links.get(key) {
            Some(&OCCUPIED) => Some(&self.values[key]),
            _ => None,
        }
    }

    #[inline(always)]
    pub fn get_mut(&mut self, key: usize) -> Option<&mut T> {
        match self.links.get(key) {
            Some(&OCCUPIED) => Some(&mut self.values[key]),
            _ => None,
        }
    }

    /// The entries and their slots, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        let links = &self.links;
        self.values
            .iter()
            .enumerate()
            .filter(move |&(k, _)| links[k] == OCCUPIED)
    }

    /// The entries and their slots, in slot order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (usize, &mut T)> {
        let links = &self.links;
        self.values
            .iter_mut()
            .enumerate()
            .filter(move |(k, _)| links[*k] == OCCUPIED)
    }
}

/// Indexing is for slots the caller knows to be held (a request's own key
/// while it runs): checked in debug builds only. The release build pays
/// the bounds check and not the occupancy's, a load, a compare and a
/// branch at each of the hot path's twenty-odd look-ups per request; a
/// free slot would read the entry last in it, never memory out of bounds.
impl<T> std::ops::Index<usize> for Table<T> {
    type Output = T;

    #[inline(always)]
    fn index(&self, key: usize) -> &T {
        debug_assert_eq!(self.links[key], OCCUPIED, "invalid key {key}");
        &self.values[key]
    }
}

impl<T> std::ops::IndexMut<usize> for Table<T> {
    #[inline(always)]
    fn index_mut(&mut self, key: usize) -> &mut T {
        debug_assert_eq!(self.links[key], OCCUPIED, "invalid key {key}");
        &mut self.values[key]
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
