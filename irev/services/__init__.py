"""Business rules, independent of requests: each module holds one domain."""
