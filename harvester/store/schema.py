"""The database schema as an ordered list of forward migrations (SQL scripts).

`PRAGMA user_version` holds how many migrations a file has had; each migration runs in one
transaction together with the version bump. A migration is only ever appended, never edited
once released: each one must keep the data that is already there.
docs/schema.md describes every table; docs/privacy.md every column that holds personal data.
"""

from __future__ import annotations

from ..privacy.pseudonyms import PREFIX as PSEUDONYM_PREFIX

V1 = """
-- Configured sources, kept in step with the config file (rows are never deleted: runs refer to them).
CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL CHECK (type IN ('feed', 'mastodon')),
    configured_url TEXT NOT NULL,      -- the URL or instance as written in the config
    url TEXT NOT NULL,                 -- where we fetch now: differs after a permanent redirect
    etag TEXT,                         -- conditional GET state, exactly as received
    last_modified TEXT,
    gone_at TEXT,                      -- 410 Gone: not fetched again until the config changes
    auth_required INTEGER NOT NULL DEFAULT 0,   -- Mastodon: the instance wants a token
    ratelimit_remaining INTEGER,       -- Mastodon: last X-RateLimit-Remaining seen
    ratelimit_reset TEXT,              -- Mastodon: last X-RateLimit-Reset, corrected to our clock
    created_at TEXT NOT NULL
);

-- People whose posts we keep: only what an editor needs to judge and credit an idea.
CREATE TABLE authors (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,          -- Mastodon acct with domain (name@instance), or feed author name/URL
    display_name TEXT,
    profile_url TEXT,
    bot INTEGER NOT NULL DEFAULT 0,
    pseudonymized_at TEXT              -- set when retention replaced the name by a pseudonym
);

-- One row per unique post, whatever source(s) it was seen on.
CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,          -- canonical: Mastodon status uri; feed entry id, else link
    kind TEXT NOT NULL CHECK (kind IN ('feed', 'mastodon')),
    url TEXT,
    title TEXT,
    content_html TEXT NOT NULL DEFAULT '',   -- as harvested; sanitised before display
    text TEXT NOT NULL DEFAULT '',           -- plain text (NFC), what NLP, search and exports use
    spoiler_text TEXT,
    language TEXT,                     -- as declared by the source; detected language is in classifications
    author_id INTEGER REFERENCES authors(id) ON DELETE SET NULL,
    in_reply_to TEXT,                  -- uri of the post this answers
    links TEXT NOT NULL DEFAULT '[]',  -- JSON list of URLs in the text
    mentions TEXT NOT NULL DEFAULT '[]',     -- JSON list of mentioned accounts
    replies_count INTEGER,
    reblogs_count INTEGER,
    favourites_count INTEGER,
    published_at TEXT,                 -- ISO 8601 UTC
    edited_at TEXT,                    -- feed entry 'updated' or Mastodon edited_at
    content_hash TEXT NOT NULL,        -- detects edits
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    changed_at TEXT NOT NULL           -- last time the text changed: a classification older than this is stale
);
CREATE INDEX posts_published_at ON posts(published_at);
CREATE INDEX posts_author_id ON posts(author_id);
CREATE INDEX posts_changed_at ON posts(changed_at);
-- The review queue's date order (keyset pagination walks it); the expression must match store/reviews.py.
CREATE INDEX posts_queue_date ON posts(coalesce(published_at, first_seen_at));

-- Where a post was seen: a Mastodon status federates to many instances, each with its own id.
CREATE TABLE sightings (
    post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    remote_id TEXT,                    -- the status id on that instance (for rechecks)
    url TEXT,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    PRIMARY KEY (post_id, source_id)
) WITHOUT ROWID;
CREATE INDEX sightings_source ON sightings(source_id, remote_id);

-- Hashtags of a post, lower-case, without '#'.
CREATE TABLE post_tags (
    post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (post_id, tag)
) WITHOUT ROWID;
CREATE INDEX post_tags_tag ON post_tags(tag);

-- One row per collector run of one source: the history `harvester status` reads.
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    started_at TEXT NOT NULL,
    finished_at TEXT,                  -- NULL while running, or when the process died
    status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'partial', 'failed', 'not_modified')),
    new INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,      -- opted out, suppressed, not tagged
    requests INTEGER NOT NULL DEFAULT 0,
    error TEXT                         -- what went wrong (for 'partial': what was skipped)
);
CREATE INDEX runs_source ON runs(source_id, started_at);

-- Mastodon paging state per (source, tag group); moves only in the transaction that stores the page.
CREATE TABLE cursors (
    source_id INTEGER NOT NULL REFERENCES sources(id),
    tag_group TEXT NOT NULL,           -- e.g. 'innoverheid+lanceerplatform'
    newest_id TEXT,                    -- min_id for the next incremental run
    backfill_max_id TEXT,              -- where an unfinished backfill goes on (NULL when done)
    backfill_done INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (source_id, tag_group)
) WITHOUT ROWID;

-- The NLP verdict on a post, replaced when the post is classified again.
CREATE TABLE classifications (
    post_id INTEGER PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
    model_version TEXT NOT NULL,
    language TEXT,                     -- detected
    is_dutch INTEGER NOT NULL,         -- non-Dutch posts are flagged, not forced into a theme
    confidence REAL NOT NULL,          -- how sure the model is overall (low = review first)
    reasons TEXT NOT NULL DEFAULT '{}',  -- JSON: theme id -> terms/features that weighed most
    classified_at TEXT NOT NULL
);
CREATE INDEX classifications_confidence ON classifications(confidence);

-- Per post and theme: the score, and whether it passed the theme's threshold.
CREATE TABLE post_themes (
    post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    theme TEXT NOT NULL,
    score REAL NOT NULL,
    assigned INTEGER NOT NULL,
    PRIMARY KEY (post_id, theme)
) WITHOUT ROWID;
CREATE INDEX post_themes_theme ON post_themes(theme, assigned);

-- Editors and readers of the review app.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('beheerder', 'redacteur', 'lezer')),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    disabled_at TEXT
);

-- Server-side sessions, so logout really ends one. Only a hash of the cookie is stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- Failed logins, for slowing down password guessing; old rows are pruned.
CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX login_failures_name ON login_failures(name, at);

-- The current review state of a post, derived from review_events (kept in the same transaction).
-- A post without a row is 'nieuw'. `version` counts events, for detecting concurrent edits.
CREATE TABLE reviews (
    post_id INTEGER PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('nieuw', 'geaccepteerd', 'afgewezen', 'duplicaat')),
    themes TEXT NOT NULL DEFAULT '[]',       -- JSON list of theme ids the editor settled on
    reject_reason TEXT,                -- geen_idee / off_topic / spam
    duplicate_of INTEGER REFERENCES posts(id) ON DELETE SET NULL,
    note TEXT,
    version INTEGER NOT NULL,
    updated_by INTEGER REFERENCES users(id),
    updated_at TEXT NOT NULL
);
CREATE INDEX reviews_status ON reviews(status);
CREATE INDEX reviews_duplicate_of ON reviews(duplicate_of);

-- The audit trail: append-only, one row per decision or administrative action.
-- Actions without a post (forget, purge) carry no personal data.
CREATE TABLE review_events (
    id INTEGER PRIMARY KEY,
    post_id INTEGER REFERENCES posts(id) ON DELETE SET NULL,
    user_id INTEGER REFERENCES users(id),
    actor TEXT NOT NULL,               -- user name, or 'system' for purge/forget/recheck
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    before TEXT,                       -- JSON state before
    after TEXT,                        -- JSON state after
    undoes INTEGER REFERENCES review_events(id)   -- set on an 'undo' event: the event it reverses
);
CREATE INDEX review_events_post ON review_events(post_id, id);

-- Never harvest again: keyed hashes (HMAC) of forgotten/opted-out authors and deleted posts.
CREATE TABLE suppressions (
    hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('author', 'post')),
    reason TEXT NOT NULL,              -- forget / deleted / optout
    created_at TEXT NOT NULL
);

-- The lock that keeps a second `harvester run` off the same database.
CREATE TABLE scheduler_lock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
);

-- Full-text search over posts, kept in step by triggers (the sqlite-utils/Datasette layout).
CREATE VIRTUAL TABLE posts_fts USING fts5(title, text, content='posts', content_rowid='id');
CREATE TRIGGER posts_ai AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
END;
CREATE TRIGGER posts_ad AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
END;
CREATE TRIGGER posts_au AFTER UPDATE OF title, text ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
    INSERT INTO posts_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
END;
"""


# Europe/Amsterdam under the EU rule (since 1996): summer time from the last Sunday of March
# 01:00 UTC to the last Sunday of October 01:00 UTC, the first Sunday on or after the 25th. For
# the stored form of a UTC time only; NULL for anything else, which the export converts in Python.
LOCAL_TIME = """CASE WHEN p.published_at IS NULL THEN ''
    WHEN length(p.published_at) = 25 AND substr(p.published_at, 11, 1) = 'T' AND substr(p.published_at, 20) = '+00:00'
         AND p.published_at >= '1996'
    THEN (SELECT strftime('%Y-%m-%dT%H:%M:%S', p.published_at, '+' || h || ' hours') || '+0' || h || ':00'
          FROM (SELECT CASE WHEN p.published_at >= date(substr(p.published_at, 1, 4) || '-03-25', 'weekday 0') || 'T01:00:00'
                             AND p.published_at < date(substr(p.published_at, 1, 4) || '-10-25', 'weekday 0') || 'T01:00:00'
                            THEN 2 ELSE 1 END AS h))
    END"""


def _needs(cell: str, shift: int) -> str:
    """A cell's bits of export_cells.flags, found once when it is written: quotes needed in a ';'
    CSV (1), in a ',' CSV (2), and a first character that could start a formula (4)."""
    quotes = ("'\"'", "char(10)", "char(13)")
    semicolon = " OR ".join(f"instr({cell}, {c})" for c in (*quotes, "';'"))
    comma = " OR ".join(f"instr({cell}, {c})" for c in (*quotes, "','"))
    formula = f"coalesce(unicode({cell}), 0) IN (9, 13, 43, 45, 61, 64)"
    return (f"((CASE WHEN {semicolon} THEN 1 ELSE 0 END | CASE WHEN {comma} THEN 2 ELSE 0 END"
            f" | CASE WHEN {formula} THEN 4 ELSE 0 END) << {shift})")


# a post's themes cell after its effective_themes changed (not while the post itself is being deleted)
_THEMES_CELL = ("UPDATE export_cells SET (themes, score) = (SELECT themes, score FROM export_cells_view"
                " WHERE post_id = {post}) WHERE post_id = {post} AND EXISTS (SELECT 1 FROM posts WHERE id = {post});")


V2 = f"""
-- The themes a post has in an export: the editor's (in their order) once the post is reviewed
-- (status other than 'nieuw'), else those the model assigned (in theme order), each with the
-- model's score. effective_themes_view defines them; the table holds what it gives.
CREATE VIEW effective_themes_view AS
SELECT r.post_id, j.key AS position, j.value AS theme,
       (SELECT pt.score FROM post_themes pt WHERE pt.post_id = r.post_id AND pt.theme = j.value) AS score
FROM reviews r, json_each(r.themes) j
WHERE r.status <> 'nieuw' AND j.key = (SELECT min(k.key) FROM json_each(r.themes) k WHERE k.value = j.value)
UNION ALL
SELECT pt.post_id, 0, pt.theme, pt.score FROM post_themes pt
WHERE pt.assigned AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.post_id = pt.post_id AND r.status <> 'nieuw');

CREATE TABLE effective_themes (
    post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,         -- place in the editor's list; 0 for the model's themes
    theme TEXT NOT NULL,
    score REAL,                        -- the model's score for this theme (NULL when it has none)
    PRIMARY KEY (post_id, position, theme)
) WITHOUT ROWID;
INSERT INTO effective_themes SELECT * FROM effective_themes_view;
CREATE INDEX effective_themes_theme ON effective_themes(theme, post_id);

-- The export's cells of every post, kept in step by the triggers below, so that an export reads
-- one row per post instead of joining and aggregating five tables (issue 7: 100,000 rows/s).
-- export_cells_view is their definition; the table holds what the view gives.
CREATE VIEW export_cells_view AS
SELECT post_id, themes, score, text, author, url, published, sources, duplicates,
       {_needs('text', 0)} | {_needs('author', 3)} | {_needs('url', 6)} AS flags
FROM (
    SELECT p.id AS post_id,
           coalesce((SELECT group_concat(theme, ',') FROM
               (SELECT e.theme FROM effective_themes e WHERE e.post_id = p.id ORDER BY e.position, e.theme)), '') AS themes,
           (SELECT max(e.score) FROM effective_themes e WHERE e.post_id = p.id) AS score,
           CASE WHEN p.title <> '' THEN p.title || char(10, 10) || p.text ELSE p.text END AS text,
           CASE WHEN substr(a.key, 1, {len(PSEUDONYM_PREFIX)}) = '{PSEUDONYM_PREFIX}' THEN coalesce(a.display_name, '')
                WHEN a.display_name <> '' AND a.key <> '' AND a.display_name <> a.key
                THEN a.display_name || ' (' || a.key || ')'
                ELSE coalesce(nullif(a.display_name, ''), a.key, '') END AS author,
           coalesce(p.url, '') AS url,
           {LOCAL_TIME} AS published,
           coalesce((SELECT group_concat(name, ', ') FROM
               (SELECT s.name FROM sightings g JOIN sources s ON s.id = g.source_id WHERE g.post_id = p.id
                ORDER BY g.source_id)), '') AS sources,
           (SELECT count(*) FROM reviews d WHERE d.duplicate_of = p.id AND d.status = 'duplicaat') AS duplicates
    FROM posts p LEFT JOIN authors a ON a.id = p.author_id
);

CREATE TABLE export_cells (
    post_id INTEGER PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
    themes TEXT NOT NULL,              -- its effective_themes in their order, ','-separated ids
    score REAL,                        -- the highest model score among them
    text TEXT NOT NULL,                -- the title, a blank line and the text; or the text alone
    author TEXT NOT NULL,              -- 'Name (account)', one of the two, the stored pseudonym, or ''
    url TEXT NOT NULL,
    published TEXT,                    -- ISO 8601 in Dutch time, '' when unknown; NULL: the export converts it
    sources TEXT NOT NULL,             -- names of the sources it was seen on, in source order, ', '-separated
    duplicates INTEGER NOT NULL,       -- posts marked as a duplicate of this one
    flags INTEGER NOT NULL             -- three bits per cell (text 0-2, author 3-5, url 6-8): it holds " LF CR
                                       -- or ';' (quoted in a ';' CSV); " LF CR or ',' (quoted in a ',' CSV);
                                       -- it starts with TAB CR + - = @ (defused)
);
INSERT INTO export_cells SELECT * FROM export_cells_view;

-- (delete and insert, not INSERT OR REPLACE: an upsert that fires a trigger overrides its conflict clause)
-- export_cells: a post's own columns, its author's name, its sightings, the duplicates pointing at it
CREATE TRIGGER posts_export_ai AFTER INSERT ON posts BEGIN
    INSERT INTO export_cells SELECT * FROM export_cells_view WHERE post_id = new.id;
END;
CREATE TRIGGER posts_export_au AFTER UPDATE OF title, text, url, published_at, author_id ON posts
WHEN old.title IS NOT new.title OR old.text IS NOT new.text OR old.url IS NOT new.url
     OR old.published_at IS NOT new.published_at OR old.author_id IS NOT new.author_id BEGIN
    DELETE FROM export_cells WHERE post_id = new.id;
    INSERT INTO export_cells SELECT * FROM export_cells_view WHERE post_id = new.id;
END;
CREATE TRIGGER authors_export_au AFTER UPDATE OF key, display_name ON authors
WHEN old.key IS NOT new.key OR old.display_name IS NOT new.display_name BEGIN
    DELETE FROM export_cells WHERE post_id IN (SELECT id FROM posts WHERE author_id = new.id);
    INSERT INTO export_cells SELECT * FROM export_cells_view
    WHERE post_id IN (SELECT id FROM posts WHERE author_id = new.id);
END;
CREATE TRIGGER sightings_export_ai AFTER INSERT ON sightings BEGIN
    DELETE FROM export_cells WHERE post_id = new.post_id;
    INSERT INTO export_cells SELECT * FROM export_cells_view WHERE post_id = new.post_id;
END;
CREATE TRIGGER sightings_export_ad AFTER DELETE ON sightings BEGIN
    DELETE FROM export_cells WHERE post_id = old.post_id;
    INSERT INTO export_cells SELECT * FROM export_cells_view WHERE post_id = old.post_id;
END;

-- effective_themes and duplicate counts: a review decides a post's themes, and counts towards its original
CREATE TRIGGER reviews_export_ai AFTER INSERT ON reviews BEGIN
    DELETE FROM effective_themes WHERE post_id = new.post_id;
    INSERT INTO effective_themes SELECT * FROM effective_themes_view WHERE post_id = new.post_id;
    {_THEMES_CELL.format(post='new.post_id')}
    DELETE FROM export_cells WHERE post_id = new.duplicate_of;
    INSERT INTO export_cells SELECT * FROM export_cells_view WHERE post_id = new.duplicate_of;
END;
CREATE TRIGGER reviews_export_au AFTER UPDATE OF status, themes, duplicate_of ON reviews BEGIN
    DELETE FROM effective_themes WHERE post_id = new.post_id;
    INSERT INTO effective_themes SELECT * FROM effective_themes_view WHERE post_id = new.post_id;
    {_THEMES_CELL.format(post='new.post_id')}
    DELETE FROM export_cells WHERE post_id IN (old.duplicate_of, new.duplicate_of);
    INSERT INTO export_cells SELECT * FROM export_cells_view
    WHERE post_id IN (old.duplicate_of, new.duplicate_of);
END;
CREATE TRIGGER reviews_export_ad AFTER DELETE ON reviews BEGIN
    DELETE FROM effective_themes WHERE post_id = old.post_id;
    -- back to the model's themes, unless the post itself is being deleted
    INSERT INTO effective_themes SELECT * FROM effective_themes_view
    WHERE post_id = old.post_id AND EXISTS (SELECT 1 FROM posts WHERE id = old.post_id);
    {_THEMES_CELL.format(post='old.post_id')}
    DELETE FROM export_cells WHERE post_id = old.duplicate_of;
    INSERT INTO export_cells SELECT * FROM export_cells_view WHERE post_id = old.duplicate_of;
END;
"""


# A tag feed names a Mastodon status by its web address: the harvest finds the API's row by `url`.
V3 = """
CREATE INDEX posts_mastodon_url ON posts(url) WHERE kind = 'mastodon';
"""


# The export reads posts, reviews and post_themes with one query (harvester/store/exports.py) and
# makes its cells in Python: the kept cells of V2, their views and their eight triggers go, and
# with them the work every write to posts, authors, sightings and reviews did for them.
V4 = """
DROP TRIGGER posts_export_ai;
DROP TRIGGER posts_export_au;
DROP TRIGGER authors_export_au;
DROP TRIGGER sightings_export_ai;
DROP TRIGGER sightings_export_ad;
DROP TRIGGER reviews_export_ai;
DROP TRIGGER reviews_export_au;
DROP TRIGGER reviews_export_ad;
DROP TABLE export_cells;
DROP VIEW export_cells_view;
DROP TABLE effective_themes;
DROP VIEW effective_themes_view;
"""


# Failed logins without the typed name (issue 16): a SHA-256 of the name and of the client's
# address, so a row has a fixed size whatever is typed; the login throttle reads and counts them
# in one transaction before the password hash runs, and keeps at most a window's worth, capped
# in number (harvester.web.auth.LoginRules). The rows of the old table are an old window's.
V5 = """
DROP TABLE login_failures;
CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY,
    name_hash TEXT NOT NULL,           -- SHA-256 (hex, first 32) of the typed name, lower-cased
    client_hash TEXT NOT NULL,         -- the same of the client's IP address
    at TEXT NOT NULL
);
CREATE INDEX login_failures_pair ON login_failures(name_hash, client_hash, at);
CREATE INDEX login_failures_client ON login_failures(client_hash, at);
CREATE INDEX login_failures_at ON login_failures(at);
"""


# Model versions the harvester trained (`harvester train`, `harvester retrain`, the background job),
# and what the model suggested when an editor decided (the overview's agreement per week).
V6 = """
CREATE TABLE models (
    version TEXT PRIMARY KEY,          -- as classifications.model_version: 'themes-<UTC time of training>'
    path TEXT NOT NULL,                -- its directory; relative: beside the database
    created_at TEXT NOT NULL,
    learned_from INTEGER NOT NULL,     -- editors' decisions it learned from (the held-back slice not among them)
    decisions INTEGER NOT NULL,        -- all decisions when its training read them
    decisions_read_at TEXT NOT NULL,   -- when that was: decisions changed later are new to it
    held_back INTEGER NOT NULL DEFAULT 0,   -- decisions it was scored on, never learned from
    score REAL,                        -- its macro-F1 on them (NULL: none to score on)
    current_version TEXT,              -- the model active when it was trained
    current_score REAL,                -- that model's macro-F1 on the same decisions
    active INTEGER NOT NULL DEFAULT 0, -- at most one row; none: [nlp] model (empty: the shipped one)
    reason TEXT NOT NULL DEFAULT ''    -- why it was (not) switched to, in Dutch
);
CREATE UNIQUE INDEX models_active ON models(active) WHERE active = 1;

-- the themes the model had assigned when the editor decided (JSON list; NULL: not classified then)
ALTER TABLE review_events ADD COLUMN suggested TEXT;
"""


# Bluesky (issue 20): a third source type and post kind, and the lower end of the window an
# unfinished Bluesky walk left (models.Cursor). SQLite cannot alter a CHECK constraint; a table
# rebuild of `posts` would cascade deletes into every table that refers to it, so the two CHECKs
# are widened in place, the way SQLite's ALTER TABLE documentation describes for changes that
# leave the stored rows valid: rewrite the table's SQL with writable_schema, then RESET so this
# connection reads it again. The ALTER TABLE after it changes the schema cookie, so every other
# connection reads it again too.
V_BLUESKY = """
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (type IN (''feed'', ''mastodon''))',
    'CHECK (type IN (''feed'', ''mastodon'', ''bluesky''))') WHERE type = 'table' AND name = 'sources';
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (kind IN (''feed'', ''mastodon''))',
    'CHECK (kind IN (''feed'', ''mastodon'', ''bluesky''))') WHERE type = 'table' AND name = 'posts';
PRAGMA writable_schema = RESET;
ALTER TABLE cursors ADD COLUMN backfill_since TEXT;
"""


# Initiatives (issue 18): which initiatives each post names, what might be a new one, what the
# editors decided about those, and the counts and network the "Initiatieven" pages read. The
# catalogue (config/initiatives.toml plus the decisions) is matched by harvester.initiatives; its
# digest is kept with the matches, so a changed catalogue has every post matched again.
V_INITIATIVES = """
CREATE TABLE initiative_matching (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    catalogue_digest TEXT NOT NULL,    -- SHA-256 of the catalogue the matches were made with
    matched_through TEXT NOT NULL DEFAULT '',  -- posts changed before this were all matched ('': look at every post)
    summarised_at TEXT                 -- when initiative_stats, _edges and _candidates were last made (NULL: never)
);

-- Posts matched with the current catalogue; a post without a row, or changed since, is pending.
CREATE TABLE matched_posts (
    post_id INTEGER PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
    matched_at TEXT NOT NULL
);

-- The initiatives a post names, each with its strongest evidence.
CREATE TABLE post_initiatives (
    post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    initiative TEXT NOT NULL,          -- its name in the catalogue
    via TEXT NOT NULL CHECK (via IN ('naam', 'hashtag', 'account', 'domein')),
    evidence TEXT NOT NULL,            -- the words, tag, account or domain found
    published TEXT NOT NULL,           -- the post's coalesce(published_at, first_seen_at), for its page's order
    PRIMARY KEY (post_id, initiative)
) WITHOUT ROWID;
CREATE INDEX post_initiatives_initiative ON post_initiatives(initiative, published, post_id);

-- What in a post might be an initiative nobody listed (a hashtag, a mentioned account, a linked
-- domain, a capitalised name); a candidate once two or more authors use it.
CREATE TABLE post_terms (
    post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('naam', 'hashtag', 'account', 'domein')),
    term TEXT NOT NULL,                -- normal form (a name: lower case without spaces)
    label TEXT NOT NULL,               -- as written
    PRIMARY KEY (post_id, kind, term)
) WITHOUT ROWID;
CREATE INDEX post_terms_term ON post_terms(kind, term);

-- Editors' decisions on candidates: a new initiative, an alias of a known one, or not one at all.
CREATE TABLE initiative_decisions (
    kind TEXT NOT NULL CHECK (kind IN ('naam', 'hashtag', 'account', 'domein')),
    term TEXT NOT NULL,
    label TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('bevestigd', 'alias', 'afgewezen')),
    initiative TEXT,                   -- the new or existing initiative (NULL when dismissed)
    decided_by INTEGER REFERENCES users(id),
    decided_at TEXT NOT NULL,
    PRIMARY KEY (kind, term)
) WITHOUT ROWID;

-- Made from the tables above after each matching run that changed something (the pages read these).
CREATE TABLE initiative_stats (
    initiative TEXT PRIMARY KEY,
    posts INTEGER NOT NULL,
    authors INTEGER NOT NULL,
    first_seen TEXT,
    last_seen TEXT,
    themes TEXT NOT NULL DEFAULT '{}'  -- JSON: theme id -> posts (the editor's themes once reviewed, else the model's)
);
CREATE TABLE initiative_edges (
    source TEXT NOT NULL,              -- the two initiatives, source < target
    target TEXT NOT NULL,
    posts INTEGER NOT NULL,            -- the weight: posts that name both, or name one by an author who named the other
    together INTEGER NOT NULL,         -- posts that name both
    authors INTEGER NOT NULL,          -- authors who named both
    PRIMARY KEY (source, target)
) WITHOUT ROWID;
CREATE TABLE initiative_candidates (
    kind TEXT NOT NULL,
    term TEXT NOT NULL,
    label TEXT NOT NULL,               -- the most used way of writing it
    posts INTEGER NOT NULL,
    authors INTEGER NOT NULL,
    last_seen TEXT,
    PRIMARY KEY (kind, term)
) WITHOUT ROWID;
CREATE INDEX initiative_candidates_authors ON initiative_candidates(authors DESC, posts DESC);

-- a post that goes (purge, forget, a deletion) makes the counts and candidates stale
CREATE TRIGGER matched_posts_ad AFTER DELETE ON matched_posts BEGIN
    UPDATE initiative_matching SET summarised_at = NULL WHERE summarised_at IS NOT NULL;
END;
"""


# Search on lemmas (issue 17): the lemma of each word of a post, in order, in a full-text index of
# its own beside posts_fts, so `gemeente` finds gemeenten. harvester_lemmas() is a Python function
# the Store registers on its connections (harvester/store/reviews/search.py); this migration fills
# the index for the posts already there, the triggers keep it in step.
V_LEMMAS = """
CREATE VIRTUAL TABLE posts_fts_lemmas USING fts5(lemmas, columnsize=0);
INSERT INTO posts_fts_lemmas (rowid, lemmas) SELECT id, harvester_lemmas(title, text) FROM posts;
CREATE TRIGGER posts_lemmas_ai AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts_lemmas (rowid, lemmas) VALUES (new.id, harvester_lemmas(new.title, new.text));
END;
CREATE TRIGGER posts_lemmas_ad AFTER DELETE ON posts BEGIN
    DELETE FROM posts_fts_lemmas WHERE rowid = old.id;
END;
CREATE TRIGGER posts_lemmas_au AFTER UPDATE OF title, text ON posts BEGIN
    UPDATE posts_fts_lemmas SET lemmas = harvester_lemmas(new.title, new.text) WHERE rowid = new.id;
END;
"""


# Related ideas and groups (issue 19). related_terms holds each post's words as the related-idea
# search compares them (lemmas and the parts of compounds, harvester.nlp.related), indexed by FTS5
# so that the posts sharing a post's rarer terms are found without reading every post;
# related_vocab counts the posts per term (idf). An editor can mark posts as one idea
# (idea_groups); every grouping and ungrouping is kept in idea_group_events.
V_MOVEMENT = """
CREATE TABLE related_terms (
    post_id INTEGER PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
    terms TEXT NOT NULL,               -- JSON list, in text order, as often as they occur
    indexed_at TEXT NOT NULL           -- older than posts.changed_at: to be indexed again
);
CREATE VIRTUAL TABLE related_terms_fts USING fts5(
    terms, content='related_terms', content_rowid='post_id', tokenize='unicode61 remove_diacritics 0');
-- posts per term (the idf), kept by the triggers: fts5vocab would walk a term's whole posting list
CREATE TABLE related_vocab (
    term TEXT PRIMARY KEY,
    posts INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER related_terms_ai AFTER INSERT ON related_terms BEGIN
    INSERT INTO related_terms_fts (rowid, terms) VALUES (new.post_id, new.terms);
    INSERT INTO related_vocab (term, posts) SELECT DISTINCT value, 1 FROM json_each(new.terms) WHERE 1
        ON CONFLICT (term) DO UPDATE SET posts = posts + 1;
END;
CREATE TRIGGER related_terms_ad AFTER DELETE ON related_terms BEGIN
    INSERT INTO related_terms_fts (related_terms_fts, rowid, terms) VALUES ('delete', old.post_id, old.terms);
    UPDATE related_vocab SET posts = posts - 1 WHERE term IN (SELECT value FROM json_each(old.terms));
    DELETE FROM related_vocab WHERE posts <= 0 AND term IN (SELECT value FROM json_each(old.terms));
END;
CREATE TRIGGER related_terms_au AFTER UPDATE OF terms ON related_terms BEGIN
    INSERT INTO related_terms_fts (related_terms_fts, rowid, terms) VALUES ('delete', old.post_id, old.terms);
    INSERT INTO related_terms_fts (rowid, terms) VALUES (new.post_id, new.terms);
    UPDATE related_vocab SET posts = posts - 1 WHERE term IN (SELECT value FROM json_each(old.terms));
    DELETE FROM related_vocab WHERE posts <= 0 AND term IN (SELECT value FROM json_each(old.terms));
    INSERT INTO related_vocab (term, posts) SELECT DISTINCT value, 1 FROM json_each(new.terms) WHERE 1
        ON CONFLICT (term) DO UPDATE SET posts = posts + 1;
END;

CREATE TABLE idea_groups (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL
);
-- a post is in at most one group; a group holds at least two posts while it exists
CREATE TABLE idea_group_members (
    post_id INTEGER PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES idea_groups(id) ON DELETE CASCADE
);
CREATE INDEX idea_group_members_group ON idea_group_members(group_id);
-- the audit trail of grouping: append-only, post ids only (no text, no names but the editor's)
CREATE TABLE idea_group_events (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL,         -- no foreign key: the trail outlives the group
    user_id INTEGER REFERENCES users(id),
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('group', 'ungroup')),
    posts TEXT NOT NULL,               -- JSON list of the post ids added or taken out
    members TEXT NOT NULL              -- JSON list of the group's post ids afterwards
);
CREATE INDEX idea_group_events_group ON idea_group_events(group_id, id);
"""


# Data only: before the store dissolved groups that deletions (forget, purge, deletion at the
# source) left with fewer than two posts, such groups stayed and showed as a group of one. They go
# as GroupStore.dissolve_lone dissolves them now: one 'ungroup' by 'system' each, naming the post
# left over (if any). Written out here, as a migration must keep what it did when it was released.
V_LONE_GROUPS = """
INSERT INTO idea_group_events (group_id, user_id, actor, at, action, posts, members)
SELECT g.id, NULL, 'system', strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), 'ungroup',
       (SELECT json_group_array(m.post_id) FROM idea_group_members m WHERE m.group_id = g.id), '[]'
FROM idea_groups g
WHERE (SELECT count(*) FROM idea_group_members m WHERE m.group_id = g.id) < 2
ORDER BY g.id;
DELETE FROM idea_groups
WHERE (SELECT count(*) FROM idea_group_members m WHERE m.group_id = idea_groups.id) < 2;
"""


# Bluesky authors by DID. The collector used to key them by handle, but the AppView shows every
# account whose handle does not verify as `handle.invalid`, which made different people one author
# (one's opt-out removed the others' posts), and a changed handle made one person two. Every
# Bluesky post's at:// uri holds its author's DID, so each DID among the stored posts becomes one
# author row, keyed by it, and the posts move to it. Name, bot flag and handle come from the old
# row whose profile address names that DID (the one whose posts were seen last: the handle last
# seen; a row is made when a handle is first seen, so the newest row is not that), never from
# a row that stood for someone else; `handle.invalid` is no handle. Old rows left without posts
# go. Pseudonymised posts keep their pseudonym row, keyed by a keyed hash of the handle of then;
# so that forgetting the DID still finds it, the (DID, handle) pairs the old rows and the posts'
# addresses show are kept in bluesky_former_handles (only while some pseudonym row exists: without
# one nothing needs them). The initiative counts count authors, so they are made again.
V_BLUESKY_DIDS = """
ALTER TABLE authors ADD COLUMN handle TEXT;
CREATE TABLE bluesky_former_handles (
    did TEXT NOT NULL,
    handle TEXT NOT NULL,
    PRIMARY KEY (did, handle)
) WITHOUT ROWID;
INSERT OR IGNORE INTO bluesky_former_handles (did, handle)
SELECT did, handle FROM (
    SELECT substr(profile_url, 26) AS did, lower(key) AS handle FROM authors
    WHERE key NOT LIKE 'did:%' AND key NOT LIKE '%://%' AND profile_url LIKE 'https://bsky.app/profile/did:%'
    UNION
    SELECT substr(key, 6, instr(substr(key, 6), '/') - 1), lower(substr(url, 26, instr(substr(url, 26), '/') - 1))
    FROM posts WHERE kind = 'bluesky' AND key LIKE 'at://did:%/%' AND url LIKE 'https://bsky.app/profile/%/post/%'
      AND url NOT LIKE 'https://bsky.app/profile/did:%')
WHERE handle NOT IN ('', 'handle.invalid') AND EXISTS (SELECT 1 FROM authors WHERE pseudonymized_at IS NOT NULL);
CREATE TEMP TABLE bluesky_dids (post_id INTEGER PRIMARY KEY, did TEXT NOT NULL);
INSERT INTO temp.bluesky_dids (post_id, did)
SELECT p.id, substr(p.key, 6, instr(substr(p.key, 6), '/') - 1)
FROM posts p JOIN authors a ON a.id = p.author_id
WHERE p.kind = 'bluesky' AND p.key LIKE 'at://did:%/%' AND a.pseudonymized_at IS NULL;
INSERT OR IGNORE INTO authors (key, profile_url)
SELECT DISTINCT did, 'https://bsky.app/profile/' || did FROM temp.bluesky_dids ORDER BY did;
UPDATE authors SET display_name = o.display_name, bot = o.bot, handle = o.handle
FROM (SELECT substr(profile_url, 26) AS did, display_name, bot, nullif(key, 'handle.invalid') AS handle,
             row_number() OVER (PARTITION BY profile_url ORDER BY
                 (SELECT max(last_seen_at) FROM posts WHERE posts.author_id = authors.id) DESC, id DESC) AS newest
      FROM authors
      WHERE profile_url LIKE 'https://bsky.app/profile/did:%' AND key NOT LIKE 'did:%'
        AND pseudonymized_at IS NULL) AS o
WHERE o.newest = 1 AND authors.key = o.did;
UPDATE posts SET author_id = a.id
FROM temp.bluesky_dids d JOIN authors a ON a.key = d.did
WHERE d.post_id = posts.id;
DELETE FROM authors
WHERE key NOT LIKE 'did:%' AND key NOT LIKE '%://%' AND profile_url LIKE 'https://bsky.app/profile/did:%'
  AND pseudonymized_at IS NULL AND NOT EXISTS (SELECT 1 FROM posts WHERE posts.author_id = authors.id);
UPDATE initiative_matching SET summarised_at = NULL WHERE summarised_at IS NOT NULL;
DROP TABLE temp.bluesky_dids;
"""


# What a verdict, a post's related terms and its initiative matches were made from: the post's
# changed_at as the pass read its text, not the pass's clock. A harvest stamps each post of a page
# when it writes it and commits the page at the end, so a pass that read the page's posts in
# between stamped its rows later than the edit it never saw, and the edit was never read. Rows
# that were current (stamped at or after the post's change; initiatives: after it) take the
# post's changed_at; older ones keep their value and stay pending, as does the '' of a verdict a
# model switch set aside; initiative matches stamped in the millisecond of the change were pending
# and get '' (no change), so they stay so.
V_SEEN_CHANGES = """
ALTER TABLE classifications RENAME COLUMN classified_at TO post_changed_at;
UPDATE classifications SET post_changed_at = (SELECT changed_at FROM posts WHERE posts.id = classifications.post_id)
WHERE post_changed_at >= (SELECT changed_at FROM posts WHERE posts.id = classifications.post_id);
ALTER TABLE related_terms RENAME COLUMN indexed_at TO post_changed_at;
UPDATE related_terms SET post_changed_at = (SELECT changed_at FROM posts WHERE posts.id = related_terms.post_id)
WHERE post_changed_at >= (SELECT changed_at FROM posts WHERE posts.id = related_terms.post_id);
ALTER TABLE matched_posts RENAME COLUMN matched_at TO post_changed_at;
UPDATE matched_posts SET post_changed_at = coalesce(
    (SELECT changed_at FROM posts WHERE posts.id = matched_posts.post_id AND changed_at < matched_posts.post_changed_at), '');
"""


# A post's id is never used twice. Without AUTOINCREMENT SQLite numbers a new row max(id) + 1, so
# when the newest post went (a recheck, forget, an opt-out, the purge) the next post harvested got
# its id, and whatever still named the old one by id took the new one for it: an editor's open page
# (its form sends the id), the idea-group history, an export's id column, a /posts/N link. A rebuild
# of `posts` cannot be done here: foreign_keys cannot be switched off inside the migration's
# transaction, so dropping the table would cascade into every table that refers to it. AUTOINCREMENT
# is therefore written into the table's SQL as V_BLUESKY widened its CHECKs: the stored rows stay
# as they are; only how SQLite picks the next id changes, from then on one past the highest it ever
# gave, kept in sqlite_sequence. That table exists once any AUTOINCREMENT table was created, hence
# the one made and dropped here, after the RESET (this also changes the schema cookie, so other
# connections read the new SQL). The mark starts at the highest post id the file still names: its
# posts, the idea-group history and duplicate decisions in the audit trail. An id deleted before
# this migration and named nowhere cannot be known, and nothing can mistake it either.
V_POST_IDS = """
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'id INTEGER PRIMARY KEY,', 'id INTEGER PRIMARY KEY AUTOINCREMENT,')
WHERE type = 'table' AND name = 'posts';
PRAGMA writable_schema = RESET;
CREATE TABLE post_ids_sequence (id INTEGER PRIMARY KEY AUTOINCREMENT);
DROP TABLE post_ids_sequence;
INSERT INTO sqlite_sequence (name, seq) SELECT 'posts', max(
    (SELECT coalesce(max(id), 0) FROM posts),
    (SELECT coalesce(max(j.value), 0) FROM idea_group_events e, json_each(e.posts) j),
    (SELECT coalesce(max(j.value), 0) FROM idea_group_events e, json_each(e.members) j),
    (SELECT coalesce(max(max(coalesce(json_extract(before, '$.duplicate_of'), 0),
                             coalesce(json_extract(after, '$.duplicate_of'), 0))), 0)
     FROM review_events));
"""


# The last outcome of each background job that is not per source (recheck, purge, classification,
# retraining, initiatives, compaction), for `harvester status`: a source's runs have their own
# history in `runs`, but these jobs left only a log line, so a recheck that could not reach an
# instance or a purge that crashed was visible nowhere the admin is told to look. One row per job,
# overwritten by its next pass: the audit trail (append-only, one row per administrative action)
# would grow by a row for every pass of jobs that run many times an hour.
V_JOB_OUTCOMES = """
CREATE TABLE job_outcomes (
    job TEXT PRIMARY KEY,              -- recheck, purge, classify, retrain, initiatives, compact
    at TEXT NOT NULL,                  -- when the last pass ended
    status TEXT NOT NULL CHECK (status IN ('ok', 'partial', 'failed')),
    error TEXT,                        -- the last pass's problem, in Dutch (NULL when it went well)
    ok_at TEXT                         -- when a pass last went well
);
"""


# The process that runs a run, for `harvester status`: without it a run marked 'running' could be
# judged only by the scheduler lock, so a `harvester collect` by hand (which takes no lock) read as
# interrupted while it ran, and a run whose process was killed read as running while some scheduler
# lived. Runs from before stay without one (NULL) and are judged by the lock as before.
V_RUN_OWNERS = """
ALTER TABLE runs ADD COLUMN pid INTEGER;
ALTER TABLE runs ADD COLUMN host TEXT;
"""


# A failed retraining is tried again a while after it ended, longer after each failure in a row
# (learning.failure_stands), and an edit counts when saved after the training read its files: `at`
# is the end, `read_at` the reading, `failures` the count. A failed row from before held the reading
# in `at`: it keeps it as its reading, and counts as one failure.
V_JOB_FAILURES = """
ALTER TABLE job_outcomes ADD COLUMN read_at TEXT;
ALTER TABLE job_outcomes ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
UPDATE job_outcomes SET failures = 1, read_at = iif(job = 'retrain', at, NULL) WHERE status = 'failed';
"""


MIGRATIONS: list[str] = [V1, V2, V3, V4, V5, V6, V_BLUESKY, V_INITIATIVES, V_LEMMAS, V_MOVEMENT, V_LONE_GROUPS,
                         V_BLUESKY_DIDS, V_SEEN_CHANGES, V_POST_IDS, V_JOB_OUTCOMES, V_RUN_OWNERS, V_JOB_FAILURES]
