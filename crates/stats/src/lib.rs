//! Statistics over sufficient statistics (count, sum, sum of squares).
