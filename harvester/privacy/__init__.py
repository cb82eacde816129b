"""Privacy policy, decided in Python and handed to the store as plans (the store applies them).

- `hashing`: fingerprints (tombstones), keyed fingerprints (suppressed authors) and pseudonyms;
  the secret comes from the environment variable the config names.
- `scrub`: the one scrubber that removes a person's names, accounts, addresses and quotes from text.
- `keep`: the one check on the way into the store: tombstones, suppressed and opted-out authors.
- `forget`: an erasure request or an opt-out: everything of one author goes, a suppression stays.
- `pseudonyms` and `retention`: the retention period: unaccepted posts go, accepted ones get a
  pseudonym instead of their author.
"""
