//! A real `redis-server` (and a 3-master Redis Cluster) on free ports, torn down on drop.
