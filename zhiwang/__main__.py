from zhiwang.cli import app

# guarded: worker processes started with multiprocessing's spawn import this module again (as __mp_main__)
if __name__ == "__main__":
    app()
