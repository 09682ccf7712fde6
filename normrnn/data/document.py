"""A document: a title that conditions and a text that is scored."""

from dataclasses import dataclass

__all__ = ["Document"]


@dataclass(frozen=True)
class Document:
    """One training example: a title and a text.

    The model reads the title first, then the text; the loss covers only the
    text (and the end-of-text marker), so the title acts as a condition: at
    sampling time a new title is given and the model writes a text for it.

    Parameters
    ----------
    title : str
        The condition, for example a file name stem or a module name.  May be
        empty.
    text : str
        The text to model.  May be empty: the document then teaches the model
        only to end right after the title.

    Examples
    --------
    >>> Document("json", "JSON (JavaScript Object Notation) is ...").title
    'json'
    """

    title: str
    text: str

    def __post_init__(self):
        for name in ("title", "text"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(f"Document.{name} must be a str, got {type(value).__name__}")
