"""Reports for people: one self-contained HTML file per decide or diff run (`html`)."""
