"""tsfmicro_lite.models"""
