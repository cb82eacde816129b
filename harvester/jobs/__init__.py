"""The background job: collect every source on its interval, classify what is new, recheck for
deletions, retrain from editors' decisions, and apply the retention policy every `purge_hours`.

It runs unattended for weeks. One module per concern:
- harvest.py: one run of one source, from its collector into the store (also `harvester collect`);
- classify.py: new and edited posts through the classifier, in worker processes (also `harvester classify`);
- backoff.py: how long a source that keeps failing waits, derived from the runs table;
- lock.py: one scheduler per database (the `scheduler_lock` row and its heartbeat);
- gate.py: the count of running jobs (a stop waits for them, bounded) and the write gate that
  lets the purge run alone;
- jobs.py: the jobs themselves, each with its own Store and Fetcher and its one log line;
- model.py: the classifier, loaded in the background and swapped when another model is active;
- mastodon_recheck.py: asking Mastodon instances and Bluesky whether recent posts still exist
  (bluesky_recheck.py: the Bluesky questions);
- service.py: the scheduler wiring, `serve` (run, up) and `run_once` (run --once);
- logfmt.py: the key=value log lines.

"""
