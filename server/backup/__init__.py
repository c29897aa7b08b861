"""Backup and restore of an installation or a branch: the file format (``archive``), reading and
writing Redis (``snapshot``), and the ``nextup backup`` / ``nextup restore`` commands (``cli``)."""
