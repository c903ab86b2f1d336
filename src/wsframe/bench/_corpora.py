"""Deterministic corpora and frame streams for the benchmarks (no downloads, no wsframe).

Everything here is generated from fixed word lists and a seeded PRNG, so every run and
every machine measures the same bytes. The frame builder and parser are written here
independently of wsframe so that wsframe is checked against them, never against itself.
"""

import random
import struct

__all__ = [
    "CORPORA",
    "corpus",
    "masked_stream",
    "build_frame",
    "parse_frames",
    "xor_mask",
    "chunked",
]

# ASCII: English-like prose.
_ASCII_WORDS = (
    "the of and to in is was that for on are with as his they be at one have this from "
    "or had by hot word but what some we can out other were all there when up use your "
    "how said an each she which do their time if will way about many then them write "
    "would like so these her long make thing see him two has look more day could go come "
    "did number sound no most people my over know water than call first who may down side "
    "been now find any new work part take get place made live where after back little "
    "only round man year came show every good me give our under name very through just "
    "form sentence great think say help low line differ turn cause much mean before move "
    "right boy old too same tell does set three want air well also play small end put "
    "home read hand port large spell add even land here must big high such follow act why "
    "ask men change went light kind off need house picture try us again animal point "
    "mother world near build self earth father websocket frame payload message server"
).split()

# French prose: mostly ASCII with accented letters (2-byte sequences) and some typographic
# punctuation (3-byte sequences), as real French text is.
_FRENCH_WORDS = (
    "le la les de des du un une et est à été où ça déjà très après première français "
    "écrit pièce théâtre fenêtre forêt hôpital île naïf noël cœur œuvre sœur garçon "
    "leçon reçu façon élève événement général célèbre père mère frère système problème "
    "deuxième créer répéter préférer année journée idée pensée musée lycée être avoir "
    "faire dire pouvoir aller voir savoir vouloir venir falloir devoir croire trouver "
    "donner prendre parler aimer passer mettre demander tenir sembler laisser rester "
    "penser entendre regarder répondre rendre connaître paraître arriver sentir attendre "
    "vivre chercher sortir comprendre porter entrer devenir revenir écrire appeler "
    "tomber reconnaître commencer finir servir montrer jouer suivre perdre marcher "
    "lumière rivière manière matière frontière qualité société vérité liberté égalité "
    "fraternité côté château bientôt plutôt goût août mûr sûr dîner maître abîme "
    "qu'il c'est j'ai n'est d'une l'été aujourd'hui"
).split()
_FRENCH_PUNCT = (". ", ", ", " ; ", " : ", " « ", " » ", " — ", "… ", " ! ", " ? ")

# CJK + emoji: Chinese and Japanese text (3-byte sequences) with emoji (4-byte sequences)
# and a little ASCII punctuation, as chat messages have.
_CJK = (
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之"
    "过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如"
    "前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明"
    "ひらがなカタカナ日本語の文章はこのように書かれますウェブソケットのフレームを送信します"
    "漢字仮名交じり文東京大阪京都北海道沖縄春夏秋冬朝昼夜雨雪風花鳥山川海空星光"
)
_EMOJI = (
    "\U0001F600\U0001F601\U0001F602\U0001F923\U0001F60A\U0001F60D\U0001F618\U0001F44D"
    "\U0001F44F\U0001F64F\U0001F680\U0001F389\U0001F525\U0001F4AF\U0001F308\U0001F34E"
    "\U0001F431\U0001F436\U0001F30F\U0001F3B5\U0001F4F1\U0001F4BB\U0001F9E1\U0001F9D1"
)
_CJK_PUNCT = ("，", "。", "！", "？", "、", " ", "\n")


def _sentences(rng, approx, pick, punct):
    out = []
    n = 0
    while n < approx:
        words = pick(rng.randint(6, 18))
        sentence = " ".join(words)
        sentence = sentence[0].upper() + sentence[1:] + rng.choice(punct)
        out.append(sentence)
        n += len(sentence) + 4
    return "".join(out)


def _ascii_text(rng, approx):
    return _sentences(rng, approx, lambda k: rng.choices(_ASCII_WORDS, k=k),
                      (". ", ", ", "; ", "! "))


def _french_text(rng, approx):
    # About half the words plain ASCII, as in real French prose.
    pool = _ASCII_WORDS + _FRENCH_WORDS
    weights = [0.55 / len(_ASCII_WORDS)] * len(_ASCII_WORDS) + [
        0.45 / len(_FRENCH_WORDS)] * len(_FRENCH_WORDS)
    return _sentences(rng, approx, lambda k: rng.choices(pool, weights, k=k), _FRENCH_PUNCT)


def _cjk_text(rng, approx):
    pool = list(_CJK) + list(_EMOJI) + list(_CJK_PUNCT)
    weights = ([0.86 / len(_CJK)] * len(_CJK) + [0.08 / len(_EMOJI)] * len(_EMOJI)
               + [0.06 / len(_CJK_PUNCT)] * len(_CJK_PUNCT))
    # About 3.1 bytes per character on average.
    return "".join(rng.choices(pool, weights, k=approx // 3 + 16))


_GENERATORS = {"ascii": _ascii_text, "french": _french_text, "cjk_emoji": _cjk_text}
CORPORA = ("ascii", "french", "cjk_emoji")
# Each corpus is generated once, BASE bytes long, and repeated for larger sizes (a period
# of 256 KiB is far beyond what a branch predictor or the L2 cache can exploit).
BASE = 256 * 1024
_BASES = {}
_CACHE = {}


def _cut(raw, size):
    """``raw[:size]`` backed off to a character boundary."""
    cut = raw[:size]
    i = len(cut)
    while i > 0 and (cut[i - 1] & 0xC0) == 0x80:
        i -= 1
    if i > 0 and cut[i - 1] >= 0xC0:
        lead = cut[i - 1]
        need = 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
        if len(cut) - (i - 1) < need:
            cut = cut[: i - 1]
    return cut


def _base(name):
    base = _BASES.get(name)
    if base is None:
        rng = random.Random("wsframe-bench:%s" % name)
        raw = b""
        while len(raw) < BASE:
            raw += _GENERATORS[name](rng, BASE + 64 - len(raw)).encode("utf-8")
        base = _cut(raw, BASE)
        _BASES[name] = base
    return base


def corpus(name, size):
    """Exactly ``size`` bytes of valid UTF-8 text of the named kind, the same every run.

    The text is cut on a character boundary and padded with ASCII spaces to ``size``.
    """
    key = (name, size)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    base = _base(name)
    raw = base if size <= len(base) else base * (size // len(base) + 1)
    cut = _cut(raw, size)
    data = cut + b" " * (size - len(cut))
    data.decode("utf-8")  # guaranteed valid, checked once
    if size <= (1 << 22):
        _CACHE[key] = data
    return data


def xor_mask(data, key):
    """``data`` XOR the repeated 4-byte ``key`` (big-integer XOR; independent of wsframe)."""
    n = len(data)
    if n == 0:
        return b""
    k = int.from_bytes((bytes(key) * ((n >> 2) + 1))[:n], "little")
    return (int.from_bytes(data, "little") ^ k).to_bytes(n, "little")


def build_frame(opcode, payload, key=None, fin=True, rsv1=False):
    """One RFC 6455 frame; masked with ``key`` (4 bytes) when given."""
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    mbit = 0x80 if key is not None else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if key is None:
        return head + bytes(payload)
    return head + bytes(key) + xor_mask(payload, key)


def masked_stream(kind, size, count, seed=0):
    """``count`` masked client frames (text or binary) of ``size`` payload bytes each.

    Returns ``(stream, payload)``: the concatenated frames and the payload (the same for
    every frame, but each frame has its own deterministic mask key, so each is masked
    differently on the wire).
    """
    if kind == "text":
        payload = corpus("french", size)
        opcode = 1
    else:
        rng = random.Random(0xB1 + size)
        payload = bytes(rng.getrandbits(8) for _ in range(min(size, 4096)))
        payload = (payload * (size // max(len(payload), 1) + 1))[:size]
        opcode = 2
    rng = random.Random(seed * 7919 + size)
    keys = [rng.getrandbits(32).to_bytes(4, "little") for _ in range(min(count, 256))]
    frames = [build_frame(opcode, payload, keys[i % len(keys)]) for i in range(len(keys))]
    parts = [frames[i % len(frames)] for i in range(count)]
    return b"".join(parts), payload


def chunked(stream, chunk_size):
    """``stream`` cut into ``chunk_size`` byte pieces (as a socket would hand them in)."""
    return [stream[i : i + chunk_size] for i in range(0, len(stream), chunk_size)]


def parse_frames(data):
    """Parse complete frames from ``data``: list of (fin, rsv1, opcode, masked, payload).

    Raises ValueError on a truncated stream. Used to check the peers' and wsframe's
    encoders, not for speed.
    """
    out = []
    pos = 0
    n = len(data)
    data = bytes(data)
    while pos < n:
        if n - pos < 2:
            raise ValueError("truncated header")
        b0, b1 = data[pos], data[pos + 1]
        pos += 2
        ln = b1 & 0x7F
        if ln == 126:
            (ln,) = struct.unpack_from("!H", data, pos)
            pos += 2
        elif ln == 127:
            (ln,) = struct.unpack_from("!Q", data, pos)
            pos += 8
        key = None
        if b1 & 0x80:
            key = data[pos : pos + 4]
            pos += 4
        if n - pos < ln:
            raise ValueError("truncated payload")
        payload = data[pos : pos + ln]
        pos += ln
        if key is not None:
            payload = xor_mask(payload, key)
        out.append((bool(b0 & 0x80), bool(b0 & 0x40), b0 & 0x0F, key is not None, payload))
    return out
