from zhiwang.cli import app

app()
