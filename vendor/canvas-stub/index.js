throw new Error("canvas is stubbed out in Surfaces (vendor/canvas-stub): nothing in the bot draws");
