"""The movement overview: headline figures, Dutch weeks across summer time, groups counted once, the chart."""

from __future__ import annotations

from datetime import UTC, datetime

from harvester.models import Author, Post
from harvester.movement import dutch_weeks, movement, overview_figures
from harvester.web.chart import small_multiples

from .webdata import add_post, add_user


def feed_post(store, n: int, url: str, published: str, author: str = "Redactie") -> int:
    source = store.sources.get("blogs") or store.sources.sync("blogs", "feed", "https://blogs.example/feed")
    post = Post(key=url, kind="feed", content_html="<p>x</p>", text=f"Blog {n} over experimenteren",
                url=url, published_at=published, author=Author(author))
    store.posts.upsert(post, source.id)
    return store.db.execute("SELECT id FROM posts WHERE key = ?", [url]).fetchone()[0]


def test_weeks_run_monday_to_monday_in_dutch_time_across_the_spring_change():
    # summer time starts on Sunday 29 March 2026 at 02:00 (01:00 UTC)
    weeks = dutch_weeks(datetime(2026, 4, 1, 12, 0, tzinfo=UTC), 3)
    assert [(str(m), start, stop) for m, start, stop in weeks] == [
        ("2026-03-16", "2026-03-15T23:00:00+00:00", "2026-03-22T23:00:00+00:00"),
        ("2026-03-23", "2026-03-22T23:00:00+00:00", "2026-03-29T22:00:00+00:00"),   # 167 hours
        ("2026-03-30", "2026-03-29T22:00:00+00:00", "2026-04-05T22:00:00+00:00"),
    ]


def test_weekly_figures_across_the_autumn_change_count_each_post_in_its_dutch_week(store):
    # winter time starts on Sunday 25 October 2026 at 03:00 (01:00 UTC): the week of 19 October lasts 169 hours
    posts = {
        # Monday 19 October 00:30 in summer time: already the new week (UTC still says Sunday)
        "mon_early": add_post(store, 1, published_at="2026-10-18T22:30:00+00:00", author="a@mastodon.nl"),
        # Sunday 25 October 23:30 winter time: still the week of 19 October (UTC says Sunday 22:30)
        "sun_late": add_post(store, 2, published_at="2026-10-25T22:30:00+00:00", author="b@social.example"),
        # Monday 26 October 00:30 winter time = Sunday 23:30 UTC: the next week
        "next_mon": add_post(store, 3, published_at="2026-10-25T23:30:00+00:00", author="a@mastodon.nl"),
        # Sunday 18 October 23:59 summer time: the week before
        "before": add_post(store, 4, published_at="2026-10-18T21:59:00+00:00", author="c@mastodon.nl"),
    }
    assert len(set(posts.values())) == 4    # four posts of their own (keys differ)
    feed_post(store, 5, "https://www.example.nl/blog/1", "2026-10-20T08:00:00+00:00")
    feed_post(store, 6, "https://blog.example.org/a?b", "2026-10-21T08:00:00+00:00", author="Iemand")
    mv = movement(store, datetime(2026, 10, 28, 12, 0, tzinfo=UTC), weeks=3)
    assert [str(w.monday) for w in mv.weeks] == ["2026-10-12", "2026-10-19", "2026-10-26"]
    assert [w.figures.posts for w in mv.weeks] == [1, 4, 1]
    middle = mv.weeks[1].figures
    assert (middle.authors, middle.instances, middle.sites) == (4, 2, 2)
    assert mv.weeks[1].stop == "2026-10-25T23:00:00+00:00"
    assert [w.complete for w in mv.weeks] == [True, True, False]
    assert mv.total.posts == 6 and mv.total.instances == 2 and mv.total.sites == 2 and mv.total.authors == 5
    assert mv.now.utcoffset().total_seconds() == 3600


def test_a_group_counts_once_as_an_idea_and_rejected_posts_not_at_all(store):
    editor = add_user(store, "eva", "redacteur")
    ids = [add_post(store, n, published_at=f"2026-11-0{n}T10:00:00+00:00", author=f"p{n}@mastodon.nl",
                    scores={"cultuur": 0.9}) for n in range(1, 6)]
    store.reviews.decide(ids[4], editor, 0, "reject", reason="spam")
    store.reviews.decide(ids[0], editor, 0, "accept")
    store.groups.group(ids[:3], editor)
    mv = movement(store, datetime(2026, 11, 20, tzinfo=UTC), weeks=4)
    assert mv.total.posts == 4          # the spam counts nowhere
    assert mv.total.ideas == 2          # the group of three, and post 4
    assert mv.total.accepted == 1       # the group, through its accepted member
    week = next(w for w in mv.weeks if str(w.monday) == "2026-11-02")
    assert week.figures.ideas == 2 and week.per_theme == {"cultuur": 2}
    store.groups.ungroup(store.groups.group_of(ids[0]), editor)
    assert movement(store, datetime(2026, 11, 20, tzinfo=UTC), weeks=4).total.ideas == 4


def test_small_multiples_share_one_scale_and_mark_the_open_week():
    weeks = [("02-11", True), ("09-11", True), ("16-11", False)]
    chart = small_multiples(weeks, {"cultuur": [2, 7, 1], "structuur": [0, 1, 0]}, {"cultuur": "Cultuur"})
    assert chart.y_ticks[-1][1] >= 7
    assert [p.label for p in chart.panels] == ["Cultuur", "structuur"]
    big, small = chart.panels
    # the same value is the same height in every panel
    assert big.bars[2].height == small.bars[1].height and big.bars[1].height > big.bars[0].height
    assert [b.complete for b in big.bars] == [True, True, False]
    assert small.bars[0].height == 0 and big.total == 10


def test_small_multiples_keep_a_panel_per_theme_whatever_the_labels():
    """A panel belongs to a theme id, so nothing rests on the labels being unique (the themes file
    refuses two equal ones): a label shown twice still leaves each theme its panel and its ideas."""
    weeks = [("09-11", True), ("16-11", False)]
    chart = small_multiples(weeks, {"samenwerking": [3, 1], "cultuur": [0, 2]},
                            {"samenwerking": "Cultuur", "cultuur": "Cultuur"})
    assert [(p.label, p.total) for p in chart.panels] == [("Cultuur", 4), ("Cultuur", 2)]


def test_the_initiatives_the_posts_name_join_the_figures(store):
    from harvester.store.initiatives import PostMatch

    first = add_post(store, 1, published_at="2026-11-02T10:00:00+00:00", author="a@mastodon.nl")
    second = add_post(store, 2, published_at="2026-11-10T10:00:00+00:00", author="b@mastodon.nl")
    store.initiatives.save([
        PostMatch(first, "2026-11-02T10:00:00+00:00", [("Ambtenaar 2.0", "naam", "ambtenaar 2.0"),
                                                       ("Ynnovate", "hashtag", "#ynnovate")], []),
        PostMatch(second, "2026-11-10T10:00:00+00:00", [("Ynnovate", "naam", "ynnovate")], []),
    ])
    mv = movement(store, datetime(2026, 11, 20, tzinfo=UTC), weeks=3)
    assert mv.total.initiatives == 2
    assert [w.figures.initiatives for w in mv.weeks] == [2, 1, 0]


def test_a_post_rejected_as_spam_counts_nowhere_in_the_figures(store):
    """Not as a post, an author, a Mastodon server, a site or the initiatives it names: a spammer is no
    part of the movement. Taken back, it counts again."""
    from harvester.store.initiatives import PostMatch

    editor = add_user(store, "eva", "redacteur")
    anna = add_post(store, 1, published_at="2026-11-02T10:00:00+00:00", author="anna@mastodon.nl")
    spam = add_post(store, 2, published_at="2026-11-03T10:00:00+00:00", author="spambot@spam.example")
    spam_site = feed_post(store, 3, "https://korting.example/klik", "2026-11-04T10:00:00+00:00", author="Korting")
    store.initiatives.save([
        PostMatch(anna, "2026-11-02T10:00:00+00:00", [("Ynnovate", "naam", "Ynnovate")], []),
        PostMatch(spam, "2026-11-03T10:00:00+00:00", [("Stampijfabriek", "naam", "Stampijfabriek")], []),
        PostMatch(spam_site, "2026-11-04T10:00:00+00:00", [("Kennisland", "naam", "Kennisland")], []),
    ])
    for post in (spam, spam_site):
        store.reviews.decide(post, editor, 0, "reject", reason="spam")
    mv = movement(store, datetime(2026, 11, 20, tzinfo=UTC), weeks=3)
    counted = [mv.total, next(w for w in mv.weeks if str(w.monday) == "2026-11-02").figures]
    for f in counted:
        assert (f.posts, f.ideas, f.authors, f.instances, f.sites, f.initiatives) == (1, 1, 1, 1, 0, 1)
    # rejected for another reason, a post is still part of the movement, though not an idea
    store.reviews.decide(spam, editor, 1, "undo")
    store.reviews.decide(spam, editor, 2, "reject", reason="off_topic")
    f = movement(store, datetime(2026, 11, 20, tzinfo=UTC), weeks=3).total
    assert (f.posts, f.ideas, f.authors, f.instances, f.initiatives) == (2, 1, 2, 2, 2)


def test_agreement_counts_a_decision_in_its_dutch_week(store):
    editor = add_user(store, "eva", "redacteur")
    post = add_post(store, 1, scores={"cultuur": 0.9})
    store.reviews.decide(post, editor, 0, "accept")
    # the decision at 23:30 UTC on Sunday 15 November is Monday 16 November 00:30 in Dutch time
    store.db.execute("UPDATE review_events SET at = '2026-11-15T23:30:00.000+00:00' WHERE post_id = ?", [post])
    mv = movement(store, datetime(2026, 11, 20, tzinfo=UTC), weeks=2)
    assert [(str(w.monday), w.agreement) for w in mv.weeks] == [("2026-11-09", (0, 0)), ("2026-11-16", (1, 1))]


def test_the_most_active_sources_count_in_the_movements_dutch_weeks(store):
    """Asked at Monday 00:30 Dutch time (Sunday in UTC), the ranking covers the twelve Dutch weeks of the
    movement's table, from a Monday 00:30 Dutch time that is a Sunday in UTC, and not the week before."""
    add_post(store, 1, published_at="2026-09-20T22:30:00+00:00", author="a@mastodon.nl")   # Mon 21-09 00:30
    add_post(store, 2, published_at="2026-09-14T08:00:00+00:00", author="b@mastodon.nl")   # Mon 14-09 10:00
    add_post(store, 3, published_at="2026-09-20T21:30:00+00:00", author="c@mastodon.nl")   # Sun 20-09 23:30
    for now in (datetime(2026, 12, 6, 23, 30, tzinfo=UTC), datetime(2026, 12, 8, 12, 0, tzinfo=UTC)):
        ov, mv = overview_figures(store, now, 12)
        assert str(mv.weeks[0].monday) == "2026-09-21" and len(mv.weeks) == 12
        assert ov.sources == [("mastodon-nl", 1)] == [("mastodon-nl", sum(w.figures.posts for w in mv.weeks))]
