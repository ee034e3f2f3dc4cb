"""Who subscribes to what, and where each publish goes, in
bench_topics_bun.py: one deterministic plan that the harness and every
client process compute on their own from the same few numbers.

``topics`` topics, each with exactly ``per_topic`` subscribers, spread
over ``conns`` connections that each hold ``topics * per_topic / conns``
distinct topics, drawn at random (fixed seed) so that the subscribers of
one topic are not also the subscribers of its neighbours. Publish ``k``
goes to topic ``(k * STRIDE) % topics``: every topic gets the same share
of any run of ``topics`` publishes, in a scattered order.
"""

import math
import random

STRIDE = 7919  # prime: k -> k * STRIDE % topics is a permutation unless topics is a multiple
SEED = 15
SIZE = 64  # bytes per published message: 4-byte topic number, then padding
REPAIR_ROUNDS = 100  # bounded: passes over the connections to fix repeated topics


def topic_name(t):
    return "t%d" % t


def topic_of_publish(k, topics):
    return (k * STRIDE) % topics


def assignment(conns, topics, per_topic):
    """A list, per connection, of its topic numbers (distinct within a
    connection; each topic held by exactly ``per_topic`` connections)."""
    total = topics * per_topic
    if total % conns:
        raise ValueError("topics x per_topic (%d) must be a multiple of conns (%d)" % (total, conns))
    each = total // conns
    if each > topics:
        raise ValueError("a connection would hold more topics than exist")
    if math.gcd(STRIDE, topics) != 1:
        raise ValueError("topics must not be a multiple of %d" % STRIDE)
    slots = [t for t in range(topics) for _ in range(per_topic)]
    rng = random.Random(SEED)
    rng.shuffle(slots)
    held = [slots[i * each:(i + 1) * each] for i in range(conns)]
    # A connection that drew a topic twice swaps one copy with another
    # connection's slot where neither ends up with a repeat.
    for _ in range(REPAIR_ROUNDS):
        repeats = 0
        for c in range(conns):
            mine = held[c]
            seen = set()
            for j, t in enumerate(mine):
                if t not in seen:
                    seen.add(t)
                    continue
                repeats += 1
                d = rng.randrange(conns)
                k = rng.randrange(each)
                other = held[d][k]
                if d != c and other not in seen and t not in held[d]:
                    mine[j], held[d][k] = other, t
                    seen.add(other)
        if not repeats:
            return held
    raise RuntimeError("could not spread the topics without repeats")


def expected_per_connection(held, publishes, topics):
    """How many messages each connection gets from publishes 0..publishes-1."""
    hits = [0] * topics
    for k in range(publishes):
        hits[topic_of_publish(k, topics)] += 1
    return [sum(hits[t] for t in mine) for mine in held]
