"""The initiatives' counts and network, from the matches; the graph, its layout and its files.

Pure code on plain rows. Two initiatives are joined when one post names both, or when one author
names both (in one post or in two). An edge's weight is the number of posts that carry the link:
the posts naming both, and the posts naming one of the two by an author who also named the other.

networkx lays the graph out (a spring layout with a fixed seed over nodes and edges in a fixed
order: the same data gives the same picture) and writes GEXF and GraphML for Gephi; the review app
draws the SVG itself from the coordinates (harvester.web.initiatives). The labels lose the characters
XML cannot hold (`writable`) as the graph is built: networkx writes them as they are, and a name an
editor pasted or a file escaped would make the whole file unreadable.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import networkx as nx

from ..export import defuse
from ..files import replacing, replacing_together
from ..models import InitiativeEdge as Edge, InitiativeStats
from ..normalize import writable
from .catalogue import InitiativesError, slug

LAYOUT_SEED = 18
FORMATS = (".gexf", ".graphml", ".csv")


def summarise(rows: Iterable[tuple[int, int | None, str, str]],
              themes: dict[str, dict[str, int]]) -> tuple[list[InitiativeStats], list[Edge]]:
    """Counts per initiative and the network's edges from (post id, author id, initiative, published) rows."""
    posts: dict[str, set[int]] = defaultdict(set)
    authors: dict[str, set[object]] = defaultdict(set)
    first: dict[str, str] = {}
    last: dict[str, str] = {}
    by_post: dict[int, set[str]] = defaultdict(set)
    author_of: dict[int, object] = {}
    for post_id, author_id, initiative, published in rows:
        author = author_id if author_id is not None else ("post", post_id)   # no author: the post is its own
        posts[initiative].add(post_id)
        authors[initiative].add(author)
        first[initiative] = min(first.get(initiative, published), published)
        last[initiative] = max(last.get(initiative, published), published)
        by_post[post_id].add(initiative)
        author_of[post_id] = author
    by_author: dict[object, set[str]] = defaultdict(set)
    for post_id, named in by_post.items():
        by_author[author_of[post_id]] |= named
    carried: dict[tuple[str, str], int] = defaultdict(int)
    together: dict[tuple[str, str], int] = defaultdict(int)
    shared: dict[tuple[str, str], int] = defaultdict(int)
    for post_id, named in by_post.items():
        for pair in combinations(sorted(named), 2):
            together[pair] += 1
        known = by_author[author_of[post_id]]
        for pair in {tuple(sorted((a, b))) for a in named for b in known if a != b}:
            carried[pair] += 1
    for named in by_author.values():
        for pair in combinations(sorted(named), 2):
            shared[pair] += 1
    stats = [InitiativeStats(i, len(posts[i]), len(authors[i]), first[i], last[i], themes.get(i, {}))
             for i in sorted(posts)]
    edges = [Edge(a, b, carried[(a, b)], together.get((a, b), 0), shared[(a, b)]) for a, b in sorted(carried)]
    return stats, edges


def graph(stats: Sequence[InitiativeStats], edges: Sequence[Edge]) -> nx.Graph:
    """The network: a node per initiative with posts (id: its slug, label: its name as a file can hold
    it), an edge per link. The slugs, the only other text, are words and dashes."""
    g = nx.Graph()
    for s in sorted(stats, key=lambda s: slug(s.initiative)):
        g.add_node(slug(s.initiative), label=writable(s.initiative), posts=s.posts, authors=s.authors)
    for e in sorted(edges, key=lambda e: (slug(e.source), slug(e.target))):
        if g.has_node(slug(e.source)) and g.has_node(slug(e.target)):
            g.add_edge(slug(e.source), slug(e.target), weight=e.posts, together=e.together, authors=e.authors)
    return g


def layout(g: nx.Graph) -> dict[str, tuple[float, float]]:
    """Node -> (x, y) in [0, 1]: each connected group its own seeded spring layout, heavier links
    pulling harder (logarithmically, so one busy pair does not fold the rest into a point); the
    groups side by side, wider as they are larger, and lone initiatives in a column at the right.
    (One spring layout of the whole graph flings unconnected groups into the corners.)"""
    groups = sorted((sorted(c) for c in nx.connected_components(g)), key=lambda c: (-len(c), c[0]))
    linked, alone = [c for c in groups if len(c) > 1], [c[0] for c in groups if len(c) == 1]
    widths = [math.sqrt(len(c)) for c in linked] + ([0.6] if alone else [])
    total = sum(widths) or 1.0
    positions: dict[str, tuple[float, float]] = {}
    left = 0.0
    for group, width in zip(linked, widths):
        share = width / total
        for node, (x, y) in _spring(g.subgraph(group)).items():
            positions[node] = (round(left + (0.08 + 0.84 * x) * share, 4), round(y, 4))
        left += share
    for n, node in enumerate(alone):
        positions[node] = (round(left + 0.5 * (1 - left), 4), round((n + 0.5) / len(alone), 4))
    return positions


def _spring(g: nx.Graph) -> dict[str, tuple[float, float]]:
    """A connected graph's seeded spring layout, scaled to [0, 1] both ways."""
    h = nx.Graph()
    h.add_nodes_from(sorted(g.nodes))
    h.add_edges_from(sorted((min(a, b), max(a, b), {"pull": 1 + math.log(d["weight"])})
                            for a, b, d in g.edges(data=True)))
    positions = nx.spring_layout(h, seed=LAYOUT_SEED, weight="pull", iterations=100)
    xs = [float(p[0]) for p in positions.values()]
    ys = [float(p[1]) for p in positions.values()]

    def scale(v: float, low: float, high: float) -> float:
        return 0.5 if high - low < 1e-9 else (v - low) / (high - low)

    return {n: (scale(float(p[0]), min(xs), max(xs)), scale(float(p[1]), min(ys), max(ys)))
            for n, p in positions.items()}


@dataclass(frozen=True)
class DrawnNode:
    slug: str
    label: str
    posts: int
    x: float
    y: float
    r: float
    label_y: float


@dataclass(frozen=True)
class DrawnEdge:
    source: str
    target: str
    posts: int
    x1: float
    y1: float
    x2: float
    y2: float
    width: float


@dataclass(frozen=True)
class Drawing:
    width: int
    height: int
    nodes: list[DrawnNode]
    edges: list[DrawnEdge]


def drawing(g: nx.Graph, width: int = 760, height: int = 520, margin: int = 70) -> Drawing:
    """Where the SVG puts everything: node circles sized by posts, lines as thick as their weight."""
    positions = layout(g)
    top_posts = max([1] + [d["posts"] for _, d in g.nodes(data=True)])
    top_weight = max([1] + [d["weight"] for _, _, d in g.edges(data=True)])

    def at(node: str) -> tuple[float, float]:
        x, y = positions[node]
        return round(margin + x * (width - 2 * margin), 1), round(margin / 2 + y * (height - 1.5 * margin), 1)

    nodes = []
    for node, d in g.nodes(data=True):
        x, y = at(node)
        r = round(6 + 18 * math.sqrt(d["posts"] / top_posts), 1)
        nodes.append(DrawnNode(node, d["label"], d["posts"], x, y, r, round(y + r + 14, 1)))
    edges = []
    for a, b, d in g.edges(data=True):
        (x1, y1), (x2, y2) = at(a), at(b)
        edges.append(DrawnEdge(g.nodes[a]["label"], g.nodes[b]["label"], d["weight"], x1, y1, x2, y2,
                               round(1 + 7 * math.sqrt(d["weight"] / top_weight), 1)))
    return Drawing(width, height, nodes, edges)


def network_format(path: Path) -> str:
    """The format a file name asks for by its extension (one of FORMATS); callers check it before
    they spend a matching pass on a file they cannot write."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InitiativesError(f"{path}: onbekend formaat; kies een bestandsnaam op {', '.join(FORMATS)}")
    return suffix


def write_network(g: nx.Graph, path: str | Path) -> list[Path]:
    """Write the network for Gephi by the file's extension: .gexf, .graphml, or .csv (two tables
    beside it, named after it: netwerk.csv gives netwerk-knopen.csv and netwerk-verbindingen.csv,
    as `harvester network --out` says; Gephi imports nodes and edges apart). Each file is
    written whole or not at all (`replacing`), and the CSV pair both or neither
    (`replacing_together`: a full disk changes neither); a failure is a WriteFailed."""
    path = Path(path)
    suffix = network_format(path)
    if suffix in (".gexf", ".graphml"):
        with replacing(path) as stream:
            (nx.write_gexf if suffix == ".gexf" else nx.write_graphml)(g, stream)
        return [path]
    nodes, edges = path.with_name(f"{path.stem}-knopen.csv"), path.with_name(f"{path.stem}-verbindingen.csv")
    # Gephi's spreadsheet import: Id and Label for nodes; Source, Target, Type and Weight for edges
    with replacing_together(nodes, edges) as (node_file, edge_file):
        node_file.write(_csv(["Id", "Label", "Posts", "Authors"],
                             ([n, defuse(d["label"]), d["posts"], d["authors"]] for n, d in g.nodes(data=True))))
        edge_file.write(_csv(["Source", "Target", "Type", "Weight", "Together", "Authors"],
                             ([a, b, "Undirected", d["weight"], d["together"], d["authors"]]
                              for a, b, d in g.edges(data=True))))
    return [nodes, edges]


def _csv(header: list[str], rows: Iterable[list[object]]) -> bytes:
    """A CSV file's bytes, UTF-8 (a network is one row per initiative or link: small enough to hold)."""
    text = io.StringIO(newline="")
    out = csv.writer(text)
    out.writerow(header)
    out.writerows(rows)
    return text.getvalue().encode("utf-8")
