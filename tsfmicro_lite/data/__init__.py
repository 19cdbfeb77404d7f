"""tsfmicro_lite.data"""
