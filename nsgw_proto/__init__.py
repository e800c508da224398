# Generated from proto/ by proto/generate.py. Do not edit.
"""Python code generated from the .proto files in proto/."""
