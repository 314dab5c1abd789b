"""Image input, by job. Import from the module that does the job (this package imports nothing,
so counting tokens never loads Pillow):

* :mod:`playground.vision.tokens` -- pure arithmetic: the size a model looks at, its grid and the
  token count (no Pillow). Also the one :data:`~playground.vision.tokens.Detail` type.
* :mod:`playground.vision.metadata` -- what an upload carries besides its pixels (EXIF, GPS, XMP,
  colour profile, text chunks, comments, trailing data), and removing it without touching pixels.
* :mod:`playground.vision.normalise` -- an upload turned into what is sent, one function per step.
* :mod:`playground.vision.preview` -- the image as the model sees it, with its grid drawn over it.

Model figures come from the registry (``models.toml``); these modules hold none of their own.
"""
