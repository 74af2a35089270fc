# Description labels (SECMP0019 / SECMP0046): the vocabulary comes from a data file, so the
# list can follow the code's modifications without a firmware change.

MAX_LABEL = 32


class LabelError(ValueError):
    pass


def load_vocabulary(path):
    """The labels in `path`, one per line; '#' starts a comment. Missing file: empty list."""
    words = []  # type: list
    try:
        f = open(path)
    except OSError:
        return words
    try:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                words.append(line)
    finally:
        f.close()
    return words


def check_label(label, vocabulary, strict):
    """The label to store (the vocabulary's spelling in strict mode), or LabelError."""
    label = label.strip()
    if not label:
        raise LabelError("empty")
    if len(label) > MAX_LABEL:
        raise LabelError("too-long")
    for b in label.encode():  # bytes, not str: each char of a str walked is made a qstr
        if b < 0x20 or b > 0x7E:
            raise LabelError("not-printable")
    wanted = label.lower()
    for word in vocabulary:
        if word.lower() == wanted:
            return word
    if strict:
        raise LabelError("not-in-vocabulary")
    return label
