//! A sum tree: priorities with O(log n) update and prefix-sum search.

use crate::error::{Error, Result};

/// Non-negative priorities over `capacity` leaves, kept in a binary tree whose inner nodes
/// hold the sum of their children, so that setting a priority and finding the leaf at a given
/// prefix sum both take `O(log capacity)`.
///
/// Leaf `i` covers the interval `[sum_{j<i} p_j, sum_{j<=i} p_j)` of `[0, total)`, so
/// [`SumTree::find`] of a uniform draw from `[0, total)` picks leaf `i` with probability
/// `p_i / total`: the sampling step of proportional prioritized replay. Sums are kept in
/// `f64`, and each update recomputes the path to the root from the children (no running
/// deltas), so rounding does not accumulate over many updates.
///
/// The leaves are padded to a power of two (padding leaves hold 0 and are never found); the
/// tree is `2 * capacity.next_power_of_two()` `f64`s. `capacity` is at most
/// [`SumTree::MAX_CAPACITY`].
///
/// # Example
///
/// ```
/// use valuefn::replay::SumTree;
///
/// let mut tree = SumTree::new(3)?;
/// tree.update(0, 1.0)?;
/// tree.update(2, 3.0)?;
/// assert_eq!(tree.total(), 4.0);
/// assert_eq!(tree.find(0.5)?, 0);
/// assert_eq!(tree.find(1.0)?, 2); // leaf 1 has priority 0 and covers nothing
/// assert!(tree.update(1, f64::NAN).is_err());
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SumTree {
    capacity: usize,
    /// Number of leaves: `capacity` rounded up to a power of two.
    leaves: usize,
    /// `nodes[1]` is the root, node `k` has children `2k` and `2k + 1`, leaf `i` is
    /// `nodes[leaves + i]`; `nodes[0]` is unused.
    nodes: Vec<f64>,
}

impl SumTree {
    /// The largest capacity [`SumTree::new`] accepts, `2^28` leaves (a 4 GiB tree).
    pub const MAX_CAPACITY: usize = 1 << 28;

    /// A tree of `capacity` leaves, all with priority 0.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for `capacity` 0 or above [`SumTree::MAX_CAPACITY`].
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::replay::SumTree;
    ///
    /// let tree = SumTree::new(5)?;
    /// assert_eq!((tree.capacity(), tree.total()), (5, 0.0));
    /// assert!(SumTree::new(0).is_err());
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn new(capacity: usize) -> Result<Self> {
        if capacity == 0 || capacity > Self::MAX_CAPACITY {
            return Err(Error::config(
                "capacity",
                "in 1..=2^28 (SumTree::MAX_CAPACITY)",
                capacity,
            ));
        }
        let leaves = capacity.next_power_of_two();
        Ok(Self {
            capacity,
            leaves,
            nodes: vec![0.0; 2 * leaves],
        })
    }

    /// Number of leaves that can hold a priority.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Sum of all priorities.
    pub fn total(&self) -> f64 {
        self.nodes[1]
    }

    /// The priority of leaf `index`, or `None` when `index >= capacity`.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::replay::SumTree;
    ///
    /// let mut tree = SumTree::new(2)?;
    /// tree.update(1, 0.25)?;
    /// assert_eq!((tree.get(0), tree.get(1), tree.get(2)), (Some(0.0), Some(0.25), None));
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn get(&self, index: usize) -> Option<f64> {
        (index < self.capacity).then(|| self.nodes[self.leaves + index])
    }

    /// Checks that `priority` is finite and `>= 0`, as [`SumTree::update`] does.
    ///
    /// # Errors
    ///
    /// [`Error::NonFinite`] for NaN or infinity, [`Error::InvalidConfig`] (field `priority`)
    /// for a negative value.
    pub fn check_priority(priority: f64) -> Result<()> {
        if !priority.is_finite() {
            return Err(Error::NonFinite {
                what: "priority",
                value: priority,
            });
        }
        if priority < 0.0 {
            return Err(Error::config("priority", ">= 0", priority));
        }
        Ok(())
    }

    /// Sets the priority of leaf `index` and updates the sums above it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] (field `index`) for `index >= capacity`; as
    /// [`SumTree::check_priority`] for a bad priority. On `Err` the tree is unchanged.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::replay::SumTree;
    ///
    /// let mut tree = SumTree::new(4)?;
    /// tree.update(3, 2.0)?;
    /// tree.update(3, 0.5)?; // overwrites
    /// assert_eq!(tree.total(), 0.5);
    /// assert!(tree.update(4, 1.0).is_err());
    /// assert!(tree.update(0, -1.0).is_err());
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn update(&mut self, index: usize, priority: f64) -> Result<()> {
        if index >= self.capacity {
            return Err(Error::config(
                "index",
                "below the sum tree's capacity",
                format!("{index} with capacity {}", self.capacity),
            ));
        }
        Self::check_priority(priority)?;
        let mut node = self.leaves + index;
        self.nodes[node] = priority;
        while node > 1 {
            node /= 2;
            self.nodes[node] = self.nodes[2 * node] + self.nodes[2 * node + 1];
        }
        Ok(())
    }

    /// The leaf whose interval `[sum_{j<i} p_j, sum_{j<=i} p_j)` contains `prefix_sum`.
    ///
    /// Leaves of priority 0 cover nothing and are never returned; a `prefix_sum` at or above
    /// [`SumTree::total`] (which rounding can produce when scaling a uniform draw) returns the
    /// last leaf with a positive priority.
    ///
    /// # Errors
    ///
    /// [`Error::NonFinite`] for a NaN or infinite `prefix_sum`; [`Error::InvalidConfig`]
    /// (field `prefix_sum`) for a negative one; [`Error::Empty`] when every priority is 0.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::replay::SumTree;
    ///
    /// let mut tree = SumTree::new(3)?;
    /// for (i, p) in [1.0, 2.0, 3.0].into_iter().enumerate() {
    ///     tree.update(i, p)?;
    /// }
    /// let found: Vec<usize> = [0.0, 0.99, 1.0, 2.99, 3.0, 5.99, 6.0]
    ///     .into_iter()
    ///     .map(|x| tree.find(x))
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(found, vec![0, 0, 1, 1, 2, 2, 2]);
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn find(&self, prefix_sum: f64) -> Result<usize> {
        if !prefix_sum.is_finite() {
            return Err(Error::NonFinite {
                what: "prefix_sum",
                value: prefix_sum,
            });
        }
        if prefix_sum < 0.0 {
            return Err(Error::config("prefix_sum", ">= 0", prefix_sum));
        }
        if self.total() <= 0.0 {
            return Err(Error::Empty {
                what: "sum tree (every priority is 0)",
            });
        }
        // Invariant: the current node's sum is positive. Going left when the right subtree is
        // empty keeps it (the node's sum is then the left child's), and so does going right
        // only into a positive subtree; so the leaf reached has a positive priority.
        let (mut node, mut rest) = (1, prefix_sum);
        while node < self.leaves {
            let (left, right) = (self.nodes[2 * node], self.nodes[2 * node + 1]);
            if rest < left || right <= 0.0 {
                node *= 2;
            } else {
                rest -= left;
                node = 2 * node + 1;
            }
        }
        Ok(node - self.leaves)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_nodes_are_sums_of_their_children_after_updates() {
        let mut tree = SumTree::new(5).unwrap();
        for (i, p) in [(0, 1.0), (4, 2.5), (2, 0.5), (0, 3.0), (4, 0.0)] {
            tree.update(i, p).unwrap();
        }
        for node in 1..tree.leaves {
            assert_eq!(
                tree.nodes[node],
                tree.nodes[2 * node] + tree.nodes[2 * node + 1]
            );
        }
        assert_eq!(tree.total(), 3.5);
        // Padding leaves stay 0 and are never found, even past the total.
        assert_eq!(tree.find(100.0).unwrap(), 2);
    }

    #[test]
    fn a_single_leaf_tree_finds_its_leaf() {
        let mut tree = SumTree::new(1).unwrap();
        assert!(matches!(tree.find(0.0), Err(Error::Empty { .. })));
        tree.update(0, 2.0).unwrap();
        assert_eq!(tree.find(1.9).unwrap(), 0);
        assert!(SumTree::new(SumTree::MAX_CAPACITY + 1).is_err());
    }
}
