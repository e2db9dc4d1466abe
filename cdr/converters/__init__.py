"""What turns one format into another outside the sanitizers: programs that must exec.

``exec_sandbox`` runs an external program (LibreOffice, Tesseract) in a bubblewrap of its
own; ``libreoffice`` converts legacy Office, RTF and OpenDocument to OOXML before the
rebuild; ``pixels`` builds the 画像化 PDF in the parent from a child's checked pixel rows;
``ocr`` lays an invisible text layer over those pages. Each output is as untrusted as its
input and goes through the same verification.
"""
